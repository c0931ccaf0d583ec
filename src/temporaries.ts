// Temporary files and directories that hold what is not ready to be seen — plaintext not yet
// verified, a blob not yet complete — and how none of them outlives its run (docs/BACKUP.md
// "Interrupted runs"). Each is named after its owner: `PREFIX<pid>-<host>-<random>`, with <host> a
// short hash of the host name, so that the next run in the same place can tell a dead run's
// leftovers (its host, a pid that is no longer running) from a live run's work and remove them.
// While a run lives, each is registered here, and a SIGINT or SIGTERM removes them all before the
// CLI exits (src/cli/main.ts).
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StrongroomError } from './errors.ts';

const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const OWNER = /^(\d+)-([0-9a-f]{8})-[0-9a-f]{12}/;

/** A fresh name for a temporary beside others starting with `prefix`, owned by this process. */
export function temporaryName(prefix: string): string {
  return `${prefix}${process.pid}-${host}-${randomBytes(6).toString('hex')}`;
}

/** True unless `pid` is certainly not running: signal 0 checks without sending anything. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'; // EPERM: running, as another user
  }
}

/**
 * Removes the temporaries in `directory` named with `prefix` whose owner ran on this host and is
 * no longer running (killed with SIGKILL, or the machine lost power). Another host's, and a live
 * run's, are left alone; so is whatever cannot be removed (another user's).
 */
export async function removeDeadTemporaries(directory: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return; // no directory yet: nothing left over
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const owner = OWNER.exec(name.slice(prefix.length));
    if (owner === null || owner[2] !== host || isRunning(Number(owner[1]))) continue;
    await rm(join(directory, name), { recursive: true, force: true }).catch(() => {});
  }
}

/** Signalled by a SIGINT or SIGTERM: the CLI is removing its temporaries and exiting. */
export class InterruptedError extends StrongroomError {}

const temporaries = new Set<string>();
const cleanups = new Set<() => Promise<void>>();
let interrupted = false;

/**
 * Registers `path` (a temporary about to be created) for removal if the run is interrupted; call
 * the returned function once it has been renamed into place or removed. Refuses once interrupted,
 * so nothing new is created while the process exits.
 */
export function trackTemporary(path: string): () => void {
  if (interrupted) throw new InterruptedError('interrupted');
  temporaries.add(path);
  return () => temporaries.delete(path);
}

/** Registers work an interruption must finish before exit (aborting an S3 multipart upload). */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function removeTracked(): void {
  for (const path of temporaries) rmSync(path, { recursive: true, force: true });
}

/**
 * Removes every tracked temporary, runs the registered cleanups (each given `graceMs`), and
 * removes the temporaries once more: a file whose creation was already under way when the first
 * pass ran lands after it.
 */
export async function cleanUpOnInterrupt(graceMs: number): Promise<void> {
  interrupted = true;
  removeTracked();
  await Promise.all(
    [...cleanups].map((cleanup) =>
      Promise.race([cleanup().catch(() => {}), new Promise((done) => setTimeout(done, graceMs))]),
    ),
  );
  removeTracked();
}
