// Where encrypted backup streams are kept (DESIGN section 1: untrusted cloud storage). Stores see
// only ciphertext. Implementations: a local directory (directory.ts), the S3 API (s3.ts), and the
// server's own storage through ChatD (src/client/chatd-blob-store.ts).

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
  /** Streams blob `name`; throws NotFound (a StrongroomError) when absent. */
  get(name: string): AsyncIterable<Uint8Array>;
  list(prefix?: string): Promise<BlobInfo[]>;
  delete(name: string): Promise<void>;
}
