// Compression of repository chunks (docs/ARCHITECTURE.md, "Compression"): the interface both
// platforms implement, and the browser's decoder (zstd through fzstd, pure JavaScript). Node
// compresses and decompresses with libzstd in src/client/node/zstd-compression.ts; each reads the
// other's output, since both speak the Zstandard frame format (RFC 8878).
import { Decompress } from 'fzstd';
import { DamagedBackupError } from '../../errors.ts';

/**
 * Decompresses one chunk back to the length recorded beside it. Chunks are authenticated before
 * they are decompressed, so damage here means a bug or a forged key; still, `decompress` never
 * allocates more than `plainLength` bytes nor returns anything but exactly that many.
 */
export interface ChunkDecompression {
  decompress(packed: Uint8Array, plainLength: number): Uint8Array;
}

/** Compresses one chunk, and decompresses one: what a platform that writes repositories has. */
export interface ChunkCompression extends ChunkDecompression {
  /** A Zstandard frame of `plain`; may be a promise when the work runs elsewhere (a worker thread). */
  compress(plain: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Chunks it compresses side by side (worker threads): the writer keeps that many in flight. 1 when absent. */
  readonly inFlight?: number;
}

/** Thrown by `decompress` when a chunk does not decompress to its recorded length. */
export function damagedChunk(cause?: unknown): DamagedBackupError {
  return new DamagedBackupError(
    'a chunk did not decompress to its recorded length: the repository is damaged',
    {
      cause,
    },
  );
}

/** Rejects a recorded length that cannot be a chunk's (docs/FORMAT.md, "Chunking": at most 64 MiB). */
export function checkPlainLength(plainLength: number): void {
  if (!Number.isSafeInteger(plainLength) || plainLength < 0 || plainLength > 64 * 1024 * 1024) {
    throw new DamagedBackupError(
      `a chunk's recorded length ${plainLength} is out of range: the repository is damaged`,
    );
  }
}

/** The browser's zstd: decompresses only (a browser restores; it does not back up). */
export const fzstdDecompression: ChunkDecompression = {
  decompress(packed, plainLength) {
    checkPlainLength(plainLength);
    // The streaming decoder hands out the output piece by piece, so output longer than recorded is
    // caught before it is held (the one-shot call would trust the frame's own size field).
    const plain = new Uint8Array(plainLength);
    let written = 0;
    try {
      new Decompress((piece) => {
        if (written + piece.length > plainLength) throw damagedChunk();
        plain.set(piece, written);
        written += piece.length;
      }).push(packed, true);
    } catch (error) {
      throw error instanceof DamagedBackupError ? error : damagedChunk(error);
    }
    if (written !== plainLength) throw damagedChunk();
    return plain;
  },
};
