// Waits for something the system does on its own time (a host locking an exhausted record after its
// grace period, a restarted etcd cluster electing a leader): polls until the outcome is reached, or
// fails after a bounded time.
import { setTimeout as sleep } from 'node:timers/promises';
import { UnavailableError } from '../../src/errors.ts';

export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 15_000,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(pollMs);
  }
}

/**
 * Runs `run` until it stops failing with UnavailableError (e.g. a restarted cluster still electing
 * a leader before it serves linearizable reads); any other error, or one after `forMs`, is thrown.
 */
export async function retryUntilAvailable<T>(run: () => Promise<T>, forMs = 8000): Promise<T> {
  const deadline = Date.now() + forMs;
  for (;;) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof UnavailableError) || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}
