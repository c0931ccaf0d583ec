// zstd of repository blobs on worker threads (docs/ARCHITECTURE.md, "Compression";
// docs/BENCHMARKS.md, "Incremental backups"): compressing is most of a first backup's CPU time,
// and decompressing most of a restore's, so each blob goes to the next of several workers and that
// many are kept in flight (ChunkCompression.inFlight) while the main thread reads, chunks, hashes,
// seals, opens and writes. Outside the security path: the workers hold no key. A blob's id is of
// its plaintext, and the reader checks it on this thread after decompressing (docs/FORMAT.md
// §12.5), so a frame or an output that is wrong can fail a restore, never pass one; a worker's
// output is exactly the recorded length, as zstdCompression's is.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { type ChunkCompression, checkPlainLength, damagedChunk } from '../repository/compression.ts';
import { startWorkerPool, type WorkerPool } from './worker-pool.ts';
import { DEFAULT_ZSTD_LEVEL, zstdCompression } from './zstd-compression.ts';

// The worker's program (plain JavaScript, see worker-pool.ts). {id, plain} is answered by {id,
// packed}, the plain bytes' zstd frame at workerData.level; {id, packed, into} by {id, plain},
// the frame decompressed into all of `into` (a buffer of the recorded length, handed over by the
// main thread, so that memory is allocated and freed by one thread's allocator), or {id, plain:
// null} when it does not decompress to exactly that. Inputs are transferred in and zeroed once
// used; outputs are transferred back when they own their memory.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Compressor } = require(workerData.zstd);
const binding = require(workerData.zstdBinding);
const compressor = new Compressor();
compressor.setParameters({ compressionLevel: workerData.level });
const decompressor = new binding.DCtx();
const owned = (bytes) => bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
const decompress = (packed, plain) => {
  try {
    if (decompressor.decompress(plain, packed) === plain.length) return plain;
  } catch {}
  plain.fill(0);
  return null;
};
parentPort.on('message', (m) => {
  try {
    if (m.plain !== undefined) {
      const packed = compressor.compress(m.plain);
      m.plain.fill(0);
      parentPort.postMessage({ id: m.id, packed }, owned(packed) ? [packed.buffer] : []);
    } else {
      const plain = decompress(m.packed, Buffer.from(m.into.buffer));
      m.packed.fill(0);
      parentPort.postMessage({ id: m.id, plain }, plain === null ? [] : [plain.buffer]);
    }
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
  decompress(packed: Uint8Array, plainLength: number): Promise<Uint8Array>;
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
  let pool: WorkerPool<{ packed: Uint8Array; plain: Uint8Array | null }> | undefined;
  let closed = false;
  const workers = () => {
    if (closed) throw new Error('zstd workers closed');
    pool ??= startWorkerPool('zstd', WORKER_SOURCE, threads, {
      zstd: require.resolve('zstd-napi'),
      zstdBinding: require.resolve('zstd-napi/binding.js'),
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
    async decompress(packed, plainLength) {
      checkPlainLength(plainLength);
      if (plainLength < WORKER_MIN_BYTES) return inline.decompress(packed, plainLength);
      const copy = new Uint8Array(packed); // as for compress: the worker zeroes its copy
      const into = new Uint8Array(new ArrayBuffer(plainLength));
      const { plain } = await workers().request({ packed: copy, into }, [copy.buffer, into.buffer]);
      if (plain === null || plain.length !== plainLength) throw damagedChunk();
      return plain;
    },
    async close() {
      closed = true;
      await pool?.close();
    },
  };
}
