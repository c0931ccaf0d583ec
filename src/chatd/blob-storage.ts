// The server's own blob storage (docs/CHATD.md "Blobs and quota"): encrypted backup streams kept
// per account in a blob store, indexed in the account store, under a per-account quota. The store
// is a directory under ChatD's data dir by default, or S3 shared by every ChatD of a multi-region
// deployment (docs/CHATD.md "ChatD across regions"); either shows a blob under its name only once
// complete, so a half-sent blob never appears and an aborted one leaves nothing behind.
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

  constructor(
    private readonly storeFor: AccountBlobStores,
    private readonly store: AccountStore,
    readonly quotaBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  async usedBytes(accountId: number): Promise<number> {
    return (await this.store.blobBytes(accountId)) + (this.inFlight.get(accountId) ?? 0);
  }

  async beginUpload(accountId: number, name: string): Promise<Upload> {
    // Replacing a blob frees its old size once the new one lands; count it as free from the start.
    const replaced = (await this.store.blob(accountId, name))?.size ?? 0;
    // The blob store pulls from `pipe` while chunks are pushed into it; `write` waits while the
    // store is behind, so an upload holds about one chunk in memory.
    const pipe = new PassThrough({ highWaterMark: MAX_BLOB_CHUNK_BYTES });
    // An abort destroys `pipe` with an error so the store discards the blob; the store sees it
    // through its read, and `stored` rejects: nothing else listens, so none may be "unhandled".
    pipe.on('error', () => {});
    const stored = this.storeFor(accountId).put(name, pipe);
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
        // The index decides the quota for every ChatD sharing the store: another ChatD's upload
        // may have landed meanwhile (docs/CHATD.md "ChatD across regions").
        const blob = { name, size: written, modifiedMs: this.now() };
        if (!(await this.store.putBlob(accountId, blob, this.quotaBytes))) {
          await this.storeFor(accountId).delete(name);
          throw new QuotaExceededError(`blob storage quota of ${this.quotaBytes} bytes would be exceeded`);
        }
        return written;
      },
      abort,
    };
  }

  /** Reads blob `name` in chunks of at most MAX_BLOB_CHUNK_BYTES; undefined when absent. */
  async openBlob(
    accountId: number,
    name: string,
  ): Promise<{ size: number; chunks: AsyncIterable<Uint8Array> } | undefined> {
    const row = await this.store.blob(accountId, name);
    if (row === undefined) return undefined;
    return { size: row.size, chunks: protocolChunks(this.storeFor(accountId).get(name)) };
  }

  async delete(accountId: number, name: string): Promise<boolean> {
    if (!(await this.store.removeBlob(accountId, name))) return false;
    await this.storeFor(accountId).delete(name);
    return true;
  }
}
