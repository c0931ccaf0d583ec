// The server's own blob storage (docs/CHATD.md "Blobs and quota"): encrypted backup streams kept
// per account in a directory under ChatD's data dir, indexed in SQLite, under a per-account quota.
// An upload is written to a temporary file and renamed into place only once complete, so a
// half-sent blob never appears under its name and an aborted one leaves nothing behind.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_BLOB_CHUNK_BYTES } from '../protocol/chatd/message.ts';
import type { ChatdDatabase } from './database.ts';

/** The upload would take the account past its quota; the partial blob was discarded. */
export class QuotaExceededError extends Error {}

/** One upload in progress: chunks are written in order, then `finish` renames it into place. */
export interface Upload {
  write(chunk: Uint8Array): Promise<void>;
  /** Completes the upload if `declaredSize` matches what was written; returns the size. */
  finish(declaredSize: bigint): Promise<number>;
  /** Discards the partial blob (idempotent). */
  abort(): Promise<void>;
}

export class BlobStorage {
  /** Bytes of uploads in progress, per account, counted against the quota until they end. */
  private readonly inFlight = new Map<number, number>();

  constructor(
    private readonly root: string,
    private readonly db: ChatdDatabase,
    readonly quotaBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Account directories are named by the account's row id, never by the user id (no path games). */
  private dir(accountId: number): string {
    return join(this.root, String(accountId));
  }

  usedBytes(accountId: number): number {
    return this.db.blobBytes(accountId) + (this.inFlight.get(accountId) ?? 0);
  }

  async beginUpload(accountId: number, name: string): Promise<Upload> {
    const dir = this.dir(accountId);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `.upload-${randomBytes(8).toString('hex')}`);
    const file = await open(temp, 'wx');
    // Replacing a blob frees its old size once the new one lands; count it as free from the start.
    const replaced = this.db.blob(accountId, name)?.size ?? 0;
    let written = 0;
    let done = false;
    const release = (bytes: number) =>
      this.inFlight.set(accountId, (this.inFlight.get(accountId) ?? 0) - bytes);
    const abort = async () => {
      if (done) return;
      done = true;
      release(written);
      await file.close().catch(() => {});
      await unlink(temp).catch(() => {});
    };
    return {
      write: async (chunk) => {
        if (done) throw new Error('upload already ended');
        if (this.usedBytes(accountId) - replaced + chunk.length > this.quotaBytes) {
          await abort();
          throw new QuotaExceededError(`blob storage quota of ${this.quotaBytes} bytes would be exceeded`);
        }
        this.inFlight.set(accountId, (this.inFlight.get(accountId) ?? 0) + chunk.length);
        written += chunk.length;
        await file.write(chunk);
      },
      finish: async (declaredSize) => {
        if (done) throw new Error('upload already ended');
        if (BigInt(written) !== declaredSize) {
          await abort();
          throw new RangeError(`blob end declares ${declaredSize} bytes but ${written} arrived`);
        }
        await file.sync();
        await file.close();
        await rename(temp, join(dir, name));
        done = true;
        release(written);
        this.db.putBlob(accountId, { name, size: written, modifiedMs: this.now() });
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
    const row = this.db.blob(accountId, name);
    if (row === undefined) return undefined;
    const file = await open(join(this.dir(accountId), name), 'r');
    async function* chunks(): AsyncIterable<Uint8Array> {
      try {
        for (;;) {
          const buffer = new Uint8Array(MAX_BLOB_CHUNK_BYTES);
          const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) return;
          yield buffer.subarray(0, bytesRead);
        }
      } finally {
        await file.close();
      }
    }
    return { size: row.size, chunks: chunks() };
  }

  async delete(accountId: number, name: string): Promise<boolean> {
    if (!this.db.removeBlob(accountId, name)) return false;
    await rm(join(this.dir(accountId), name), { force: true });
    return true;
  }
}
