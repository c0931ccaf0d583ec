// FormatCrypto whose AES-256-GCM runs on worker threads, one chunk per worker at a time, so that
// encryption uses several cores while the main thread reads and writes (docs/BENCHMARKS.md
// "Backup stream"). Everything else is node:crypto on the main thread. The stream keeps chunks in
// order (src/format/stream.ts keeps several in flight); bytes are identical to nodeCrypto's.
import { Worker } from 'node:worker_threads';
import type { Aead, FormatCrypto } from '../../format/crypto.ts';
import type { AeadRequest, AeadResponse } from './aead-worker.ts';
import { nodeCrypto } from './node-crypto.ts';
import { ownedCopy } from './owned-copy.ts';

export interface WorkerCrypto extends FormatCrypto {
  /** Stops the workers; pending operations fail. */
  close(): Promise<void>;
}

/**
 * Starts one worker. Compiled, it is aead-worker.js. From source (tests, `node --import tsx`), a
 * worker does not get the parent's --import hooks in Node 20, so a small bootstrap registers tsx
 * in the worker before importing aead-worker.ts.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./aead-worker.js', import.meta.url));
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const worker = JSON.stringify(new URL('./aead-worker.ts', import.meta.url).href);
  return new Worker(`import(${tsx}).then((api) => { api.register(); return import(${worker}); });`, {
    eval: true,
  });
}

export function createWorkerCrypto(threads = 2): WorkerCrypto {
  const workers = Array.from({ length: threads }, startWorker);
  const pending = new Map<number, { resolve: (r: Uint8Array | null) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let nextKeyId = 0;
  let turn = 0;
  // A worker keeps the process alive only while it owes an answer, so a caller that forgets
  // close() does not hang the process, and one awaiting an answer is not cut short.
  const owed = new Map<Worker, number>();
  const owe = (worker: Worker, change: 1 | -1) => {
    const count = (owed.get(worker) ?? 0) + change;
    owed.set(worker, count);
    if (count === 0) worker.unref();
    else if (count === 1 && change === 1) worker.ref();
  };
  for (const worker of workers) {
    worker.unref();
    worker.on('message', (response: AeadResponse) => {
      owe(worker, -1);
      const waiter = pending.get(response.id)!;
      pending.delete(response.id);
      if (response.error !== undefined) waiter.reject(new Error(`AES-GCM worker failed: ${response.error}`));
      else waiter.resolve(response.result);
    });
    worker.on('error', (error) => {
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  }

  function call(worker: Worker, request: AeadRequest & { keyId: number }, transfer: ArrayBuffer[] = []) {
    return new Promise<Uint8Array | null>((resolve, reject) => {
      pending.set(request.id, { resolve, reject });
      owe(worker, 1);
      worker.postMessage(request, transfer);
    });
  }

  return {
    randomBytes: nodeCrypto.randomBytes,
    hkdfSha256: nodeCrypto.hkdfSha256,
    hmacSha256: nodeCrypto.hmacSha256,
    sha256: nodeCrypto.sha256,

    async aes256Gcm(rawKey): Promise<Aead> {
      const keyId = nextKeyId++;
      // Each worker gets its own copy of the key (structured clone); they zero it once imported.
      await Promise.all(
        workers.map((worker) => call(worker, { id: nextId++, op: 'key', bytes: rawKey, keyId })),
      );
      const run = (op: 'seal' | 'open', nonce: Uint8Array, pieces: readonly Uint8Array[]) => {
        const data = ownedCopy(pieces);
        const worker = workers[turn++ % workers.length]!;
        return call(worker, { id: nextId++, op, bytes: nonce, data, keyId }, [data.buffer as ArrayBuffer]);
      };
      return {
        async seal(nonce, plaintext) {
          return [(await run('seal', nonce, plaintext))!];
        },
        async open(nonce, sealed) {
          const plaintext = await run('open', nonce, sealed);
          return plaintext === null ? null : [plaintext];
        },
      };
    },

    async close() {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
