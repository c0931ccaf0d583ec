// FormatCrypto whose AES-256-GCM runs on worker threads (docs/FORMAT.md "Chunks"; docs/BENCHMARKS.md
// "Backup stream"): the main thread reads, writes and keeps the order, while each worker seals or
// opens whole chunks with node:crypto, so a backup uses several cores. Bytes are identical to
// nodeCrypto's (test/format/vectors.test.ts runs the vectors through both).
//
// A chunk whose pieces already live in SharedArrayBuffers (readFileBlocks/readBackupBlocks with
// `shared`) reaches the worker without a copy; any other chunk is copied once into a reused shared
// slot (the caller keeps its buffers, and an open may be retried with another nonce). The worker's
// output pieces come back transferred, with no copy at all.
import { availableParallelism } from 'node:os';
import type { Aead, FormatCrypto } from '../../format/crypto.ts';
import { raiseMallocThreshold } from './malloc-threshold.ts';
import { nodeCrypto, splitTag } from './node-crypto.ts';
import { startWorkerPool } from './worker-pool.ts';

// The worker's program (plain JavaScript, see worker-pool.ts). Messages: {op:'key', keyId, key} (the worker zeroes the sent copy), {op:'forget',
// keyId}, and {op:'seal'|'open', id, keyId, nonce, pieces, tag} (pieces: views of shared memory;
// tag: the 16-byte tag for open) answered by {id, result} where result is the output pieces
// (ciphertext..., tag for seal) or null when the tag does not verify. Each piece is encrypted
// whole: raiseMallocThreshold() keeps such outputs in memory that stays mapped.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv } = require('node:crypto');
const TAG = 16;
const keys = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'key') {
    keys.set(m.keyId, Buffer.from(m.key));
    m.key.fill(0);
    return;
  }
  if (m.op === 'forget') {
    keys.get(m.keyId)?.fill(0);
    keys.delete(m.keyId);
    return;
  }
  try {
    const key = keys.get(m.keyId);
    const sealing = m.op === 'seal';
    const cipher = sealing
      ? createCipheriv('aes-256-gcm', key, m.nonce, { authTagLength: TAG })
      : createDecipheriv('aes-256-gcm', key, m.nonce, { authTagLength: TAG });
    if (!sealing) cipher.setAuthTag(m.tag);
    const out = [];
    for (const piece of m.pieces) out.push(cipher.update(piece));
    try {
      cipher.final();
    } catch {
      for (const piece of out) piece.fill(0);
      parentPort.postMessage({ id: m.id, result: null });
      return;
    }
    if (sealing) out.push(cipher.getAuthTag());
    // Only buffers a piece owns alone are transferred; small ones may sit in a shared pool.
    const transfer = out.filter((p) => p.byteOffset === 0 && p.byteLength === p.buffer.byteLength).map((p) => p.buffer);
    parentPort.postMessage({ id: m.id, result: out }, transfer);
  } catch (error) {
    parentPort.postMessage({ id: m.id, result: null, error: String(error) });
  }
});
`;

interface Answer {
  readonly result: Uint8Array[] | null;
}

export interface WorkerCrypto extends FormatCrypto {
  /** Chunks each of its Aeads keeps in flight: two per worker, one sealed and one queued. */
  readonly inFlight: number;
  /** Stops the workers; operations still pending fail. */
  close(): Promise<void>;
}

/**
 * Shared buffers that carry chunks to the workers, reused so that each chunk costs one copy into
 * memory that is already mapped: a fresh 1 MiB buffer per chunk costs page faults that were slower
 * than the copy itself (docs/BENCHMARKS.md).
 */
class SlotPool {
  readonly #free: SharedArrayBuffer[] = [];

  /** A slot holding the pieces' bytes; give it back with release() once the worker answered. */
  fill(pieces: readonly Uint8Array[]): { slot: SharedArrayBuffer; length: number } {
    let length = 0;
    for (const piece of pieces) length += piece.length;
    const index = this.#free.findIndex((candidate) => candidate.byteLength >= length);
    const slot = index >= 0 ? this.#free.splice(index, 1)[0]! : new SharedArrayBuffer(Math.max(length, 1));
    const view = new Uint8Array(slot);
    let offset = 0;
    for (const piece of pieces) {
      view.set(piece, offset);
      offset += piece.length;
    }
    return { slot, length };
  }

  /** Takes a slot back; the plaintext or ciphertext it held is overwritten by the next chunk. */
  release(slot: SharedArrayBuffer): void {
    this.#free.push(slot);
  }

  /** Zeroes and drops every free slot (plaintext should not linger in memory). */
  clear(): void {
    for (const slot of this.#free.splice(0)) new Uint8Array(slot).fill(0);
  }
}

/** Starts `threads` workers (by default one per core) that seal and open chunks. */
export function createWorkerCrypto(threads = availableParallelism()): WorkerCrypto {
  // Each piece is encrypted whole, so its output is as large as it: keep such buffers mapped.
  raiseMallocThreshold();
  const pool = startWorkerPool<Answer>('AES-GCM', WORKER_SOURCE, threads);
  let nextKeyId = 0;
  const slots = new SlotPool();

  const inFlight = 2 * pool.size;
  return {
    inFlight,
    randomBytes: nodeCrypto.randomBytes,
    hkdfSha256: nodeCrypto.hkdfSha256,
    hmacSha256: nodeCrypto.hmacSha256,
    sha256: nodeCrypto.sha256,

    async aes256Gcm(rawKey): Promise<Aead> {
      const keyId = nextKeyId++;
      // Each worker gets its own copy (structured clone), zeroed there once held by the worker.
      pool.broadcast({ op: 'key', keyId, key: rawKey });
      const run = async (
        op: 'seal' | 'open',
        nonce: Uint8Array,
        pieces: readonly Uint8Array[],
        tag?: Uint8Array,
      ): Promise<Uint8Array[] | null> => {
        const inPlace = pieces.every((piece) => piece.buffer instanceof SharedArrayBuffer);
        const copy = inPlace ? null : slots.fill(pieces);
        const sent = copy === null ? pieces : [new Uint8Array(copy.slot, 0, copy.length)];
        try {
          return (await pool.request({ op, keyId, nonce, pieces: sent, tag })).result;
        } finally {
          if (copy !== null) slots.release(copy.slot);
        }
      };
      return {
        seal: async (nonce, plaintext) => (await run('seal', nonce, plaintext))!,
        open: async (nonce, sealed) => {
          const parts = splitTag(sealed);
          return parts === null ? null : run('open', nonce, parts.body, parts.tag);
        },
        inFlight,
        destroy() {
          pool.broadcast({ op: 'forget', keyId });
        },
      };
    },

    async close() {
      await pool.close();
      slots.clear();
    },
  };
}
