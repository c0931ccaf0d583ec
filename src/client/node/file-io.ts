// File reading and writing for the backup stream on Node (docs/BENCHMARKS.md "Backup stream"):
// reads run one buffer ahead and writes are gathered into ~1 MiB writev calls that overlap the
// next batch, so the thread-pool round trips of file I/O overlap the encryption on the main thread.
import { type FileHandle, open } from 'node:fs/promises';
import { HEADER_LENGTH, Header } from '../../format/header.ts';
import { TAG_LENGTH } from '../../format/stream.ts';

const BLOCK = 1 << 20;

/**
 * Marks a promise as handled: it is awaited later, but may reject while something else is
 * awaited, and Node would otherwise report that as unhandled.
 */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

export interface ReadOptions {
  /** Bytes per block (the last may be shorter); 1 MiB by default. */
  blockSize?: number;
  /**
   * Blocks are views into a ring of this many buffers that are read into again (0: a fresh buffer
   * per block), so a block's bytes stay valid only until the consumer has pulled ring − 2 more
   * blocks. That saves a fresh buffer per block, whose page faults cost more than the encryption's
   * own allocations (docs/BENCHMARKS.md "Backup stream"). Only for a consumer known to be done with
   * each block in time: see ringFor().
   */
  ring?: number;
  /** The ring lives in SharedArrayBuffers, so worker threads use the blocks without a copy. */
  shared?: boolean;
}

/**
 * The ring a stream of `inFlight` chunks needs when each chunk is one block (encryptStream with
 * chunkSize = blockSize, or decryptStream fed by readBackupBlocks). While the oldest chunk is
 * awaited, the other in-flight chunks hold their blocks, the stream has looked one block ahead, and
 * the next read fills one more: inFlight + 2 blocks, plus one to spare.
 */
export function ringFor(inFlight: number): number {
  return inFlight + 3;
}

/** Reads a file in blocks, one read ahead (see ReadOptions). */
export async function* readFileBlocks(path: string, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    yield* blocksOf(handle, options);
  } finally {
    await handle.close();
  }
}

/**
 * Reads a backup stream file with every block holding exactly one sealed chunk: the header first,
 * then blocks of the chunk size its header announces plus the tag. Aligned blocks let a ring
 * (ReadOptions.ring) feed decryptStream, and let worker threads open chunks in place. A header that
 * does not parse is passed on as it is, for decryptStream to report, and the rest read in 1 MiB blocks.
 */
export async function* readBackupBlocks(
  path: string,
  options: Omit<ReadOptions, 'blockSize'> = {},
): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(new Uint8Array(HEADER_LENGTH), 0, HEADER_LENGTH, null);
    if (bytesRead === 0) return;
    const header = buffer.subarray(0, bytesRead);
    yield header;
    if (bytesRead < HEADER_LENGTH) return;
    let blockSize = BLOCK;
    try {
      blockSize = Header.deserialize(header).chunkSize + TAG_LENGTH;
    } catch {
      // decryptStream rejects this header with the precise reason.
    }
    yield* blocksOf(handle, { ...options, blockSize });
  } finally {
    await handle.close();
  }
}

async function* blocksOf(handle: FileHandle, options: ReadOptions): AsyncGenerator<Uint8Array> {
  const { blockSize = BLOCK, ring = 0, shared = false } = options;
  const allocate = () =>
    shared ? new Uint8Array(new SharedArrayBuffer(blockSize)) : Buffer.allocUnsafeSlow(blockSize);
  const buffers = Array.from({ length: ring }, allocate);
  let turn = 0;
  const nextBuffer = () => (ring > 0 ? buffers[turn++ % ring]! : allocate());
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
  }
}

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
