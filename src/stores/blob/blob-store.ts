// Where encrypted backup streams are kept (untrusted: docs/ARCHITECTURE.md "Record store"). Stores see
// only ciphertext. Implementations: a local directory (directory.ts), the S3 API (s3.ts), and the
// server's own storage through ChatD (src/client/chatd-blob-store.ts).

import { StrongroomError, UsageError } from '../../errors.ts';

/** No blob has this name in the store (a backup id that does not exist, or was deleted). */
export class BlobNotFoundError extends StrongroomError {}

/**
 * Blob names are chosen by Strongroom (backup ids), never by a store's listing: letters, digits,
 * '.', '_' and '-', not starting with '.', at most 200 characters. Stores reject anything else, so
 * a name can never climb out of a directory store or clash with a store's temporary files.
 */
export function checkBlobName(name: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(name)) {
    throw new UsageError(`not a valid backup name: ${JSON.stringify(name)}`);
  }
}

/** Told about an entry of a store's listing that is left out, and why (it is not a blob). */
export type IgnoredListener = (name: string, reason: string) => void;

export interface BlobInfo {
  readonly name: string;
  readonly size: number;
  readonly modified: Date;
}

export interface BlobStore {
  /** Human-readable location, e.g. `/backups` or `s3://bucket/prefix`. */
  readonly location: string;
  /**
   * Streams `data` into blob `name`. The blob appears under its name only once complete
   * (temporary name then rename; S3 multipart completes atomically). Returns the bytes written.
   */
  put(name: string, data: AsyncIterable<Uint8Array>): Promise<number>;
  /** Streams blob `name`; throws BlobNotFoundError when absent. */
  get(name: string): AsyncIterable<Uint8Array>;
  /** The blobs whose names start with `prefix`; what is not a readable blob is left out (`onIgnored`). */
  list(prefix?: string, onIgnored?: IgnoredListener): Promise<BlobInfo[]>;
  delete(name: string): Promise<void>;
}
