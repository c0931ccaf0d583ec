// The server's own blob storage (docs/CHATD.md "Blobs and quota"): encrypted backup streams kept
// per account in a blob store, indexed in the account store, under a per-account quota. The store
// is a directory under ChatD's data dir by default, or S3 shared by every ChatD of a multi-region
// deployment (docs/CHATD.md "ChatD across regions"). Each upload writes a new object of its own
// (never the object another upload or a reader uses); the index then points the blob's name at it
// in one atomic step that also checks the quota, and only after that is the replaced object
// deleted. A half-sent blob never appears, a refused one is deleted, and what a crash leaves (an
// object nothing points at) is removed by the account's next sweep.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { MAX_BLOB_CHUNK_BYTES } from '../protocol/chatd/message.ts';
import type { BlobStore } from '../stores/blob/blob-store.ts';
import type { AccountStore } from './account-store.ts';

/** The upload would take the account past its quota; the partial blob was discarded. */
export class QuotaExceededError extends Error {}

/** One upload in progress: chunks are written in order, then `finish` makes it visible. */
export interface Upload {
  write(chunk: Uint8Array): Promise<void>;
  /** Completes the upload if `declaredSize` matches what was written; returns the size. */
  finish(declaredSize: bigint): Promise<number>;
  /** Discards the partial blob (idempotent). */
  abort(): Promise<void>;
}

/** The blob store of one account: account stores are named by the account's number, never by the user id. */
export type AccountBlobStores = (accountId: number) => BlobStore;

/**
 * An object nothing points at is swept once it is this old (an hour): younger, it may be an
 * upload another ChatD has stored but not yet indexed (docs/CHATD.md "Blobs and quota").
 */
export const ORPHAN_GRACE_MS = 3600_000;

export interface BlobStorageOptions {
  readonly quotaBytes: number;
  readonly now?: () => number;
  /** Told when deleting an object failed (it is left for a later sweep). */
  readonly onCleanupError?: (error: unknown) => void;
}

/** A fresh object name: 128 random bits, so two uploads, on any ChatD, never write the same object. */
const newObjectName = () => `o-${randomBytes(16).toString('hex')}`;

/** Splits what a store yields into pieces a BlobChunk can carry. */
async function* protocolChunks(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const piece of source) {
    for (let at = 0; at < piece.length; at += MAX_BLOB_CHUNK_BYTES)
      yield piece.subarray(at, at + MAX_BLOB_CHUNK_BYTES);
  }
}

export class BlobStorage {
  /** Bytes of this ChatD's uploads in progress, per account, counted against the quota until they end. */
  private readonly inFlight = new Map<number, number>();
  /** Accounts whose sweep is running now (one at a time per account). */
  private readonly sweeping = new Set<number>();
  readonly quotaBytes: number;
  private readonly now: () => number;
  private readonly onCleanupError: (error: unknown) => void;

  constructor(
    private readonly storeFor: AccountBlobStores,
    private readonly store: AccountStore,
    options: BlobStorageOptions,
  ) {
    this.quotaBytes = options.quotaBytes;
    this.now = options.now ?? Date.now;
    this.onCleanupError = options.onCleanupError ?? (() => {});
  }

  async usedBytes(accountId: number): Promise<number> {
    return (await this.store.blobBytes(accountId)) + (this.inFlight.get(accountId) ?? 0);
  }

  async beginUpload(accountId: number, name: string): Promise<Upload> {
    // Replacing a blob frees its old size once the new one lands; count it as free from the start.
    // This is only the early refusal: putBlob decides, against what every ChatD has indexed.
    const replaced = (await this.store.blob(accountId, name))?.size ?? 0;
    const object = newObjectName();
    // The blob store pulls from `pipe` while chunks are pushed into it; `write` waits while the
    // store is behind, so an upload holds about one chunk in memory.
    const pipe = new PassThrough({ highWaterMark: MAX_BLOB_CHUNK_BYTES });
    // An abort destroys `pipe` with an error so the store discards the blob; the store sees it
    // through its read, and `stored` rejects: nothing else listens, so none may be "unhandled".
    pipe.on('error', () => {});
    const stored = this.storeFor(accountId).put(object, pipe);
    stored.catch(() => {}); // awaited by finish; an aborted upload's rejection is expected
    let written = 0;
    let done = false;
    const release = (bytes: number) =>
      this.inFlight.set(accountId, (this.inFlight.get(accountId) ?? 0) - bytes);
    const abort = async () => {
      if (done) return;
      done = true;
      release(written);
      pipe.destroy(new Error('upload aborted'));
      await stored.catch(() => {});
    };
    return {
      write: async (chunk) => {
        if (done) throw new Error('upload already ended');
        if ((await this.usedBytes(accountId)) - replaced + chunk.length > this.quotaBytes) {
          await abort();
          throw new QuotaExceededError(`blob storage quota of ${this.quotaBytes} bytes would be exceeded`);
        }
        this.inFlight.set(accountId, (this.inFlight.get(accountId) ?? 0) + chunk.length);
        written += chunk.length;
        if (!pipe.write(chunk)) await Promise.race([once(pipe, 'drain'), stored]);
      },
      finish: async (declaredSize) => {
        if (done) throw new Error('upload already ended');
        if (BigInt(written) !== declaredSize) {
          await abort();
          throw new RangeError(`blob end declares ${declaredSize} bytes but ${written} arrived`);
        }
        pipe.end();
        try {
          await stored;
        } finally {
          done = true;
          release(written);
        }
        try {
          return await this.index(accountId, { name, object, size: written, modifiedMs: this.now() });
        } finally {
          this.sweep(accountId);
        }
      },
      abort,
    };
  }

  /**
   * Points `name` at its new object, within the quota as every ChatD sharing the store sees it
   * (docs/CHATD.md "ChatD across regions"), then deletes the object it replaced. Refused, the new
   * object is deleted and the old blob stays as it was.
   */
  private async index(
    accountId: number,
    blob: { name: string; object: string; size: number; modifiedMs: number },
  ): Promise<number> {
    // If this throws, the object is perhaps indexed, perhaps not (an unanswered write may still
    // land): it is not deleted here, and the sweep decides later, from the index.
    const outcome = await this.store.putBlob(accountId, blob, this.quotaBytes);
    if (!outcome.stored) {
      await this.deleteObject(accountId, blob.object);
      throw new QuotaExceededError(`blob storage quota of ${this.quotaBytes} bytes would be exceeded`);
    }
    if (outcome.replaced !== undefined && outcome.replaced.object !== blob.object)
      await this.deleteObject(accountId, outcome.replaced.object);
    return blob.size;
  }

  /** Deletes an object nothing points at any more; a failure leaves it for the sweep. */
  private async deleteObject(accountId: number, object: string): Promise<void> {
    await this.storeFor(accountId)
      .delete(object)
      .catch((error: unknown) => this.onCleanupError(error));
  }

  /**
   * Deletes, in the background, the account's objects that the index does not point at and that
   * are older than the grace period: what an upload or a delete cut short by a crash left behind.
   */
  sweep(accountId: number): void {
    if (this.sweeping.has(accountId)) return;
    this.sweeping.add(accountId);
    this.sweepNow(accountId)
      .catch((error: unknown) => this.onCleanupError(error))
      .finally(() => this.sweeping.delete(accountId));
  }

  private async sweepNow(accountId: number): Promise<void> {
    const store = this.storeFor(accountId);
    // Listed first, index read second: an object indexed in between is then seen as used.
    const objects = await store.list();
    const used = new Set((await this.store.blobs(accountId, '')).map((b) => b.object));
    const before = this.now() - ORPHAN_GRACE_MS;
    for (const info of objects) {
      if (!used.has(info.name) && info.modified.getTime() <= before)
        await this.deleteObject(accountId, info.name);
    }
  }

  /** Reads blob `name` in chunks of at most MAX_BLOB_CHUNK_BYTES; undefined when absent. */
  async openBlob(
    accountId: number,
    name: string,
  ): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> } | undefined> {
    const row = await this.store.blob(accountId, name);
    if (row === undefined) return undefined;
    return { size: row.size, chunks: protocolChunks(this.storeFor(accountId).get(row.object)) };
  }

  async delete(accountId: number, name: string): Promise<boolean> {
    const removed = await this.store.removeBlob(accountId, name);
    if (removed === undefined) return false;
    await this.deleteObject(accountId, removed.object);
    return true;
  }
}
