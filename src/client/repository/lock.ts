// A repository lock held for a whole run (docs/FORMAT.md §12.14 "Forget, prune and the lock"): a
// sealed lock object that expires, refreshed while the run lasts, and a check that the run still
// holds it before each step another device could be hurt by once it has lapsed.
import { UnavailableError } from '../../errors.ts';
import { BlobNotFoundError } from '../../stores/blob/blob-store.ts';
import { ObjectType, openObject } from './objects.ts';
import { parseJson, type Repository, readWhole } from './repository.ts';

export const LOCK_PREFIX = 'repo.lock.';
/** A lock this long past its last refresh is a dead run's, and others ignore it (§12.14). */
export const LOCK_LIFETIME_MS = 30 * 60 * 1000;
/** How often a held lock is stored again with a later expiry (§12.14). */
export const LOCK_REFRESH_MS = 5 * 60 * 1000;
/**
 * A run whose stored lock expires within this long stops before its next irreversible step: its
 * refreshes have been failing, and another device, whose clock may run a little ahead, may soon
 * take the lock for expired (§12.14).
 */
export const LOCK_MARGIN_MS = 10 * 60 * 1000;

/** A lock's body (§12.14); `writer` marks a writer's (§12.15). */
export interface LockBody {
  readonly owner?: string;
  readonly expires?: string;
  readonly writer?: boolean;
}

/**
 * The run's lock could not be refreshed in time (the store did not answer): it stopped before a
 * step that needed the lock. Unavailable: running again once the store answers is the remedy.
 */
export class LockLapsedError extends UnavailableError {}

export interface LockOptions {
  readonly now?: () => Date;
  /** Tests shorten it; LOCK_REFRESH_MS otherwise. */
  readonly refreshMs?: number;
}

/** A lock this run stored and keeps refreshing until `release`. */
export class HeldLock {
  private refreshing: Promise<void> = Promise.resolve();
  private readonly timer: ReturnType<typeof setInterval>;

  private constructor(
    private readonly repository: Repository,
    private readonly body: Omit<LockBody, 'expires'>,
    /** The name of the lock object stored last, and when it expires (ms). */
    private current: string,
    private expires: number,
    private readonly now: () => Date,
    refreshMs: number,
  ) {
    this.timer = setInterval(() => {
      this.refreshing = this.refreshing.then(() => this.refresh());
    }, refreshMs);
    // A run that forgets to release must not keep the process alive for its lock's sake.
    this.timer.unref?.();
  }

  /** Stores a new lock for `body.owner`; it is refreshed until `release`. */
  static async store(
    repository: Repository,
    body: Omit<LockBody, 'expires'>,
    options: LockOptions = {},
  ): Promise<HeldLock> {
    const now = options.now ?? (() => new Date());
    const name = repository.newName(LOCK_PREFIX);
    const expires = now().getTime() + LOCK_LIFETIME_MS;
    await repository.putMetadata(ObjectType.lock, name, {
      ...body,
      expires: new Date(expires).toISOString(),
    });
    return new HeldLock(repository, body, name, expires, now, options.refreshMs ?? LOCK_REFRESH_MS);
  }

  /** The name of the lock object stored last. */
  get name(): string {
    return this.current;
  }

  /** Throws LockLapsedError once the stored lock expires within LOCK_MARGIN_MS. */
  assertHeld(step: string): void {
    if (this.now().getTime() < this.expires - LOCK_MARGIN_MS) return;
    throw new LockLapsedError(
      `the repository lock could not be refreshed since ${new Date(this.expires - LOCK_LIFETIME_MS).toISOString()}: stopped before ${step}`,
      { hints: ['check the connection to the repository and run the command again'] },
    );
  }

  /** Stops refreshing and deletes the lock. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
    await this.repository.store.delete(this.current);
  }

  // A new object, then the old one deleted: no store need support overwriting, and at every moment
  // at least one of this run's locks is stored. A failed refresh is tried again at the next tick;
  // assertHeld stops the run if they keep failing. One that was due as `release` began runs
  // first: `release` then deletes the lock it stored.
  private async refresh(): Promise<void> {
    const name = this.repository.newName(LOCK_PREFIX);
    const expires = this.now().getTime() + LOCK_LIFETIME_MS;
    try {
      await this.repository.putMetadata(ObjectType.lock, name, {
        ...this.body,
        expires: new Date(expires).toISOString(),
      });
    } catch {
      return;
    }
    const old = this.current;
    this.current = name;
    this.expires = expires;
    // A failed delete leaves an older lock of this run that expires on its own.
    await this.repository.store.delete(old).catch(() => undefined);
  }
}

/** The other live locks stored, with their bodies; a lock deleted while they are read is not one. */
export async function liveLocks(
  repository: Repository,
  own: string,
  now: Date,
): Promise<Array<LockBody & { readonly name: string }>> {
  const live: Array<LockBody & { readonly name: string }> = [];
  for (const info of await repository.store.list(LOCK_PREFIX)) {
    if (info.name === own) continue;
    const lock = await readLock(repository, info.name);
    if (lock !== undefined && new Date(lock.expires ?? 0).getTime() > now.getTime())
      live.push({ ...lock, name: info.name });
  }
  return live;
}

/** A lock's body, or undefined when it was deleted meanwhile (its run ended, or refreshed it). */
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
