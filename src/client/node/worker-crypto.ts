// FormatCrypto whose AES-256-GCM runs on worker threads (docs/FORMAT.md "Chunks"; docs/BENCHMARKS.md
// "Backup stream"): the main thread reads, writes and keeps the order, while each worker seals or
// opens whole chunks with node:crypto, so a backup can use several cores. Bytes are identical to
// nodeCrypto's (test/format/vectors.test.ts runs the vectors through both). On the 2-core
// development machine it measured slower than nodeCrypto, so the CLI does not use it.
//
// A chunk crosses to a worker in a reused SharedArrayBuffer slot: the main thread copies the
// caller's pieces into it once (the caller keeps its buffers, and an open may be retried with
// another nonce), and the worker's output pieces come back transferred, with no copy at all.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Aead, FormatCrypto } from '../../format/crypto.ts';
import { nodeCrypto } from './node-crypto.ts';

// The worker's program, as plain JavaScript evaluated by the worker itself: it needs no module
// loader, so the same code runs from source (tsx, whose hooks Node 20 does not give workers) and
// compiled. Messages: {op:'key', keyId, key} (the worker zeroes the sent copy), {op:'forget',
// keyId}, and {op:'seal'|'open', id, keyId, nonce, slot, length} answered by {id, result} where result is
// the output pieces (ciphertext..., tag for seal) or null when a tag does not verify.
// Feeding GCM 32 KiB at a time keeps each output below glibc's mmap threshold (node-crypto.ts).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv } = require('node:crypto');
const SLICE = 32 * 1024;
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
  if (m.op === 'open' && m.length < TAG) {
    parentPort.postMessage({ id: m.id, result: null });
    return;
  }
  try {
    const data = new Uint8Array(m.slot, 0, m.length);
    const key = keys.get(m.keyId);
    const sealing = m.op === 'seal';
    const body = sealing ? data : data.subarray(0, data.length - TAG);
    const cipher = sealing
      ? createCipheriv('aes-256-gcm', key, m.nonce, { authTagLength: TAG })
      : createDecipheriv('aes-256-gcm', key, m.nonce, { authTagLength: TAG });
    if (!sealing) cipher.setAuthTag(data.subarray(data.length - TAG));
    const out = [];
    for (let at = 0; at < body.length; at += SLICE) out.push(cipher.update(body.subarray(at, at + SLICE)));
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
  readonly id: number;
  readonly result: Uint8Array[] | null;
  readonly error?: string;
}

export interface WorkerCrypto extends FormatCrypto {
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
  const workers = Array.from(
    { length: Math.max(1, threads) },
    () => new Worker(WORKER_SOURCE, { eval: true }),
  );
  const waiting = new Map<
    number,
    { resolve: (result: Uint8Array[] | null) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  let nextKeyId = 0;
  let turn = 0;
  const slots = new SlotPool();
  // Workers keep the process alive only while an answer is owed, so a caller that never calls
  // close() still exits, and one awaiting an answer is not cut short.
  let closing = false;
  const refresh = () => {
    if (closing) return; // close() keeps them referenced until they have exited
    for (const worker of workers) waiting.size > 0 ? worker.ref() : worker.unref();
  };
  const failAll = (error: Error) => {
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
    refresh();
  };
  for (const worker of workers) {
    worker.unref();
    worker.on('message', (answer: Answer) => {
      const waiter = waiting.get(answer.id)!;
      waiting.delete(answer.id);
      if (waiting.size === 0) refresh();
      if (answer.error !== undefined) waiter.reject(new Error(`AES-GCM worker failed: ${answer.error}`));
      else waiter.resolve(answer.result);
    });
    worker.on('error', failAll);
    worker.on('exit', () => failAll(new Error('AES-GCM worker stopped')));
  }

  return {
    randomBytes: nodeCrypto.randomBytes,
    hkdfSha256: nodeCrypto.hkdfSha256,
    hmacSha256: nodeCrypto.hmacSha256,
    sha256: nodeCrypto.sha256,

    async aes256Gcm(rawKey): Promise<Aead> {
      const keyId = nextKeyId++;
      // Each worker gets its own copy (structured clone), zeroed there once held by the worker.
      for (const worker of workers) worker.postMessage({ op: 'key', keyId, key: rawKey });
      const run = (op: 'seal' | 'open', nonce: Uint8Array, pieces: readonly Uint8Array[]) =>
        new Promise<Uint8Array[] | null>((resolve, reject) => {
          const id = nextId++;
          const { slot, length } = slots.fill(pieces);
          const release = () => slots.release(slot);
          waiting.set(id, {
            resolve: (result) => {
              release();
              resolve(result);
            },
            reject: (error) => {
              release();
              reject(error);
            },
          });
          if (waiting.size === 1) refresh();
          workers[turn++ % workers.length]!.postMessage({ op, id, keyId, nonce, slot, length });
        });
      return {
        seal: async (nonce, plaintext) => (await run('seal', nonce, plaintext))!,
        open: (nonce, sealed) => run('open', nonce, sealed),
        // Two per worker: one being sealed, the next already waiting in its queue.
        inFlight: 2 * workers.length,
        destroy() {
          for (const worker of workers) worker.postMessage({ op: 'forget', keyId });
        },
      };
    },

    async close() {
      // An unreferenced worker's exit would not keep the process alive until terminate() settles.
      closing = true;
      for (const worker of workers) worker.ref();
      await Promise.all(workers.map((worker) => worker.terminate()));
      failAll(new Error('AES-GCM workers closed'));
      slots.clear();
    },
  };
}
