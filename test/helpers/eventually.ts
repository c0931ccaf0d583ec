// Waits for something the system does on its own time (a host locking an exhausted record after its
// grace period): polls `probe` until it returns a value `done` accepts, or fails after `timeoutMs`.
import { setTimeout as sleep } from 'node:timers/promises';

export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(100);
  }
}
