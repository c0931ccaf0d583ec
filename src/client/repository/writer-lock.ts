// A writer's lock (docs/FORMAT.md §12.15): a snapshot run announces itself with a lock object, so a
// prune on another device refuses while it runs, even when the run stores no pack before its
// snapshot (all its content already in the repository) and nothing else would show it at work.
import { BlobNotFoundError } from '../../stores/blob/blob-store.ts';
import { ObjectType, openObject } from './objects.ts';
import { LOCK_LIFETIME_MS, LOCK_PREFIX, RepositoryBusyError } from './prune.ts';
import { parseJson, type Repository, readWhole } from './repository.ts';

/** A lock's body (§12.14); `writer` marks a writer's, which other writers ignore. */
interface LockBody {
  readonly owner?: string;
  readonly expires?: string;
  readonly writer?: boolean;
}

export interface WriterLockHooks {
  readonly now?: () => Date;
  /**
   * Told how to remove the lock once it is stored (a CLI passes it to its Ctrl-C cleanup, so an
   * interrupted run does not leave prunes refused until the lock expires); returns how to stop.
   */
  readonly whileHeld?: (release: () => Promise<void>) => () => void;
}

/**
 * Runs `write` (one snapshot run) under a writer's lock. Prune refuses while any live lock is
 * stored, so it refuses while `write` runs. A writer refuses in turn (RepositoryBusyError, `write`
 * not called, its lock removed) when a live lock that is not a writer's — a prune's — is stored:
 * each side stores its lock before it looks for the other's, so of a prune and a writer starting
 * at once at least one sees the other and refuses. Writers ignore each other's locks: appends
 * need no exclusion (§12.8).
 */
export async function withWriterLock<T>(
  repository: Repository,
  owner: string,
  write: () => Promise<T>,
  hooks: WriterLockHooks = {},
): Promise<T> {
  const now = hooks.now ?? (() => new Date());
  const name = repository.newName(LOCK_PREFIX);
  const body: LockBody = {
    owner,
    expires: new Date(now().getTime() + LOCK_LIFETIME_MS).toISOString(),
    writer: true,
  };
  await repository.putMetadata(ObjectType.lock, name, body);
  const release = () => repository.store.delete(name);
  const unwatch = hooks.whileHeld?.(release);
  try {
    for (const info of await repository.store.list(LOCK_PREFIX)) {
      if (info.name === name) continue;
      const lock = await readLock(repository, info.name);
      if (lock === undefined || lock.writer === true) continue;
      if (new Date(lock.expires ?? 0).getTime() > now().getTime()) {
        throw new RepositoryBusyError(
          `the repository is being pruned by ${JSON.stringify(lock.owner)} until ${lock.expires}`,
          { hints: ['back up again once the prune is done'] },
        );
      }
    }
    return await write();
  } finally {
    unwatch?.();
    await release();
  }
}

/** A lock's body, or undefined when it was deleted meanwhile (its run ended). */
async function readLock(repository: Repository, name: string): Promise<LockBody | undefined> {
  let sealed: Uint8Array;
  try {
    sealed = await readWhole(repository.store, name);
  } catch (error) {
    if (error instanceof BlobNotFoundError) return undefined;
    throw error;
  }
  const body = await openObject(repository.metadataAead, sealed, ObjectType.lock, name, `lock ${name}`);
  return parseJson(body, `lock ${name}`) as LockBody;
}
