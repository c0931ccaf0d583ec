// A writer's lock (docs/FORMAT.md §12.15): a snapshot run announces itself with a lock object, so a
// prune on another device refuses while it runs, even when the run stores no pack before its
// snapshot (all its content already in the repository) and nothing else would show it at work.
import { HeldLock, type LockOptions, liveLocks } from './lock.ts';
import { RepositoryBusyError } from './prune.ts';
import type { Repository } from './repository.ts';

export interface WriterLockHooks extends LockOptions {
  /**
   * Told how to remove the lock once it is stored (a CLI passes it to its Ctrl-C cleanup, so an
   * interrupted run does not leave prunes refused until the lock expires); returns how to stop.
   */
  readonly whileHeld?: (release: () => Promise<void>) => () => void;
}

/**
 * Runs `write` (one snapshot run) under a writer's lock, refreshed while it runs; `write` is handed
 * the lock, to check it is still held before it stores its snapshot (createSnapshot's `lock`).
 * Prune refuses while any live lock is stored, so it refuses while `write` runs. A writer refuses
 * in turn (RepositoryBusyError, `write` not called, its lock removed) when a live lock that is not
 * a writer's — a prune's — is stored: each side stores its lock before it looks for the other's,
 * so of a prune and a writer starting at once at least one sees the other and refuses. Writers
 * ignore each other's locks: appends need no exclusion (§12.8).
 */
export async function withWriterLock<T>(
  repository: Repository,
  owner: string,
  write: (lock: HeldLock) => Promise<T>,
  hooks: WriterLockHooks = {},
): Promise<T> {
  const now = hooks.now ?? (() => new Date());
  const lock = await HeldLock.store(repository, { owner, writer: true }, hooks);
  const unwatch = hooks.whileHeld?.(() => lock.release());
  try {
    const prune = (await liveLocks(repository, lock.name, now())).find((other) => other.writer !== true);
    if (prune !== undefined) {
      throw new RepositoryBusyError(
        `the repository is being pruned by ${JSON.stringify(prune.owner)} until ${prune.expires}`,
        { hints: ['back up again once the prune is done'] },
      );
    }
    return await write(lock);
  } finally {
    unwatch?.();
    await lock.release();
  }
}
