// Worker threads that answer numbered requests (docs/BENCHMARKS.md): the part that the AES-GCM
// workers of worker-crypto.ts and the zstd workers of zstd-workers.ts share. Each worker runs a
// plain JavaScript program evaluated by the worker itself, so it needs no module loader and the
// same code runs from source (tsx, whose hooks Node 20 does not give workers) and compiled. A
// request is posted as {id, ...fields}; the program answers {id, ...result}, or {id, error}.
import { type Transferable, Worker } from 'node:worker_threads';

export interface WorkerPool<Answer> {
  readonly size: number;
  /** Posts `message` (with `transfer`) to the next worker in turn; resolves with its answer. */
  request(message: object, transfer?: Transferable[]): Promise<Answer>;
  /** Posts `message` to every worker, expecting no answer (a key to hold or to forget). */
  broadcast(message: object): void;
  /** Stops the workers; requests still pending fail. */
  close(): Promise<void>;
}

/** Starts `threads` workers running `source` with `workerData`; `what` names them in errors. */
export function startWorkerPool<Answer>(
  what: string,
  source: string,
  threads: number,
  workerData?: unknown,
): WorkerPool<Answer> {
  const workers = Array.from(
    { length: Math.max(1, threads) },
    () => new Worker(source, { eval: true, workerData }),
  );
  const waiting = new Map<number, { resolve: (answer: Answer) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let turn = 0;
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
    worker.on('message', (answer: Answer & { id: number; error?: string }) => {
      const waiter = waiting.get(answer.id)!;
      waiting.delete(answer.id);
      if (waiting.size === 0) refresh();
      if (answer.error !== undefined) waiter.reject(new Error(`${what} worker failed: ${answer.error}`));
      else waiter.resolve(answer);
    });
    worker.on('error', failAll);
    worker.on('exit', () => failAll(new Error(`${what} worker stopped`)));
  }
  return {
    size: workers.length,
    request(message, transfer = []) {
      // A stopped worker would never answer, and nothing would keep the process waiting for it.
      if (closing) return Promise.reject(new Error(`${what} workers closed`));
      return new Promise<Answer>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        if (waiting.size === 1) refresh();
        workers[turn++ % workers.length]!.postMessage({ ...message, id }, transfer);
      });
    },
    broadcast(message) {
      for (const worker of workers) worker.postMessage(message);
    },
    async close() {
      // An unreferenced worker's exit would not keep the process alive until terminate() settles.
      closing = true;
      for (const worker of workers) worker.ref();
      await Promise.all(workers.map((worker) => worker.terminate()));
      failAll(new Error(`${what} workers closed`));
    },
  };
}
