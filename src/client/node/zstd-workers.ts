// zstd compression of repository blobs on worker threads (docs/ARCHITECTURE.md, "Compression";
// docs/BENCHMARKS.md, "Incremental backups"): compressing is most of a first backup's CPU time,
// so the writer hands each blob to the next of several workers and keeps that many in flight
// (ChunkCompression.inFlight) while the main thread reads, chunks, hashes and seals. Outside the
// security path: the workers hold no key, and their frames are decompressed on this thread as
// zstdCompression does. A blob's id is of its plaintext and a reader checks it after
// decompressing (docs/FORMAT.md §12.5), so a frame that is wrong can fail a restore, never pass one.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { ChunkCompression } from '../repository/compression.ts';
import { startWorkerPool, type WorkerPool } from './worker-pool.ts';
import { DEFAULT_ZSTD_LEVEL, zstdCompression } from './zstd-compression.ts';

// The worker's program (plain JavaScript, see worker-pool.ts): {id, plain} answered by {id, packed},
// the plain bytes' zstd frame at workerData.level. The plain copy is transferred in and zeroed once
// compressed; the frame is transferred back when it owns its memory.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Compressor } = require(workerData.zstd);
const compressor = new Compressor();
compressor.setParameters({ compressionLevel: workerData.level });
parentPort.on('message', (m) => {
  try {
    const packed = compressor.compress(m.plain);
    m.plain.fill(0);
    const owned = packed.byteOffset === 0 && packed.byteLength === packed.buffer.byteLength;
    parentPort.postMessage({ id: m.id, packed }, owned ? [packed.buffer] : []);
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: String(error) });
  }
});
`;

/**
 * Blobs smaller than this are done on the calling thread: for a tree or a small file, posting to a
 * worker costs more than the work (a snapshot of many small files is mostly such blobs).
 */
const WORKER_MIN_BYTES = 64 * 1024;

export interface WorkerZstdCompression extends ChunkCompression {
  compress(plain: Uint8Array): Promise<Uint8Array>;
  /** Stops the workers; compressions still pending fail. */
  close(): Promise<void>;
}

/**
 * zstd at `level` on `threads` workers (by default one per core). Two blobs per worker are kept in
 * flight, one compressing and one queued, so a worker never waits for the main thread.
 */
export function createWorkerZstdCompression(
  level = DEFAULT_ZSTD_LEVEL,
  threads = availableParallelism(),
): WorkerZstdCompression {
  const require = createRequire(import.meta.url);
  // Started on the first large blob: a run that finds nothing new (an unchanged second backup)
  // or only small files starts no thread.
  let pool: WorkerPool<{ packed: Uint8Array }> | undefined;
  let closed = false;
  const workers = () => {
    if (closed) throw new Error('zstd workers closed');
    pool ??= startWorkerPool('zstd', WORKER_SOURCE, threads, {
      zstd: require.resolve('zstd-napi'),
      level,
    });
    return pool;
  };
  const inline = zstdCompression(level);
  return {
    inFlight: 2 * Math.max(1, threads),
    async compress(plain) {
      if (plain.length < WORKER_MIN_BYTES) return inline.compress(plain);
      // A copy of its own, transferred: the caller keeps `plain` (stored as is when the frame is
      // not smaller), and a view into a larger buffer would otherwise send all of that buffer.
      // (new Uint8Array(view) copies; a Buffer's slice() would not.)
      const copy = new Uint8Array(plain);
      return (await workers().request({ plain: copy }, [copy.buffer])).packed;
    },
    decompress: inline.decompress,
    async close() {
      closed = true;
      await pool?.close();
    },
  };
}
