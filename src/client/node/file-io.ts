// File reading and writing for the backup stream on Node (docs/BENCHMARKS.md "Backup stream"):
// reads run one buffer ahead and writes are gathered into ~1 MiB writev calls that overlap the
// next batch, so the thread-pool round trips of file I/O overlap the encryption on the main thread.
import { type FileHandle, open } from 'node:fs/promises';

const BLOCK = 1 << 20;

/**
 * Marks a promise as handled: it is awaited later, but may reject while something else is
 * awaited, and Node would otherwise report that as unhandled.
 */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Reads a file in blocks of `blockSize` bytes (the last may be shorter), one read ahead.
 *
 * With `recycle` = n, blocks are views into a ring of n buffers that are read into again, so a
 * block's bytes stay valid only until the consumer has pulled n − 2 more blocks. That saves a fresh
 * buffer per block, whose page faults cost more than the encryption's own allocations
 * (docs/BENCHMARKS.md "Backup stream"). Only for a consumer known to be done with each block by
 * then: encryptStream with chunkSize = blockSize has finished with a chunk's block (seal copies or
 * consumes it synchronously) once it has looked one block ahead, so ENCRYPT_RING suffices.
 */
export async function* readFileBlocks(
  path: string,
  blockSize = BLOCK,
  recycle = 0,
): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  const ring = Array.from({ length: recycle }, () => Buffer.allocUnsafeSlow(blockSize));
  let turn = 0;
  const nextBuffer = () => (recycle > 0 ? ring[turn++ % recycle]! : Buffer.allocUnsafe(blockSize));
  const readNext = () => quiet(handle.read(nextBuffer(), 0, blockSize, null));
  let next = readNext();
  try {
    for (;;) {
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) return;
      next = readNext();
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await next.catch(() => {});
    await handle.close();
  }
}

/**
 * Ring size for readFileBlocks feeding encryptStream with chunkSize = blockSize: the block being
 * sealed, the one looked ahead at, the one being read, and one to spare.
 */
export const ENCRYPT_RING = 4;

/** Writes everything `source` yields to `handle` in gathered writes; returns the byte count. */
export async function writeAllTo(
  handle: FileHandle,
  source: AsyncIterable<Uint8Array>,
  batchBytes = BLOCK,
): Promise<number> {
  let pending: Promise<unknown> = Promise.resolve();
  let batch: Uint8Array[] = [];
  let batched = 0;
  let total = 0;
  const flush = async () => {
    await pending;
    pending = quiet(handle.writev(batch));
    total += batched;
    batch = [];
    batched = 0;
  };
  try {
    for await (const piece of source) {
      batch.push(piece);
      batched += piece.length;
      if (batched >= batchBytes) await flush();
    }
    if (batched > 0) await flush();
  } finally {
    await pending.catch(() => {});
  }
  await pending;
  return total;
}

/**
 * Creates `path` (which must not exist) with mode 0600 and writes `source` into it; with `sync`,
 * flushes it to disk before returning (before a rename makes it visible).
 */
export async function writeNewFile(
  path: string,
  source: AsyncIterable<Uint8Array>,
  sync = false,
): Promise<number> {
  const handle = await open(path, 'wx', 0o600);
  try {
    const written = await writeAllTo(handle, source);
    if (sync) await handle.sync();
    return written;
  } finally {
    await handle.close();
  }
}
