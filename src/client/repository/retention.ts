// Retention within an account's quota (docs/BACKUP.md "Repositories in ChatD storage"; docs/FORMAT.md
// §12.14): after a snapshot into the account's storage behind ChatD, or when an upload of one hit the
// quota, forget the oldest snapshots and prune until the repository fits with room for a next run.
// Browser-safe: the account is reached through the small RetentionAccount interface.
import { StrongroomError } from '../../errors.ts';
import { type BlobInfo, BlobNotFoundError, type BlobStore } from '../../stores/blob/blob-store.ts';
import { type PruneReport, pruneRepository } from './prune.ts';
import { RepositoryReader } from './reader.ts';
import {
  INDEX_PREFIX,
  PACK_PREFIX,
  type Repository,
  SNAPSHOT_PREFIX,
  type SnapshotInfo,
} from './repository.ts';

/** What retention needs of the account that holds the repository (ChatD: ChatdRepositoryAccount). */
export interface RetentionAccount {
  /**
   * The account's quota, the bytes every object of the account takes now (not only the
   * repository's), and how many more snapshots its list of backups can take (ChatD lists at most
   * 1000 entries: docs/PROTOCOL.md "ChatD: Backup list").
   */
  usage(): Promise<AccountUsage>;
  /** Snapshot `id` was forgotten: the account drops what it lists of it (ChatD: its backup-list entry). */
  snapshotForgotten(id: string): Promise<void>;
}

export interface AccountUsage {
  readonly quotaBytes: number;
  readonly usedBytes: number;
  readonly entriesLeft: number;
}

/**
 * Even with every snapshot but the newest (and the one just made) forgotten, the repository does not
 * fit: `missingBytes` more quota would be needed, or (`missingBytes` 0) the account's list of
 * backups is full of entries that are not this repository's snapshots. Thrown before anything is
 * forgotten when the account's usage shows that forgetting cannot make the room (docs/BACKUP.md
 * "Repositories in ChatD storage"); `usedBytes` is then the least the account would still use.
 */
export class QuotaTooSmallError extends StrongroomError {
  readonly missingBytes: number;
  constructor(
    readonly quotaBytes: number,
    readonly usedBytes: number,
    readonly roomBytes: number,
  ) {
    const missingBytes = Math.max(0, usedBytes + roomBytes - quotaBytes);
    super(
      missingBytes > 0
        ? `the account's storage is too small for this repository: with only the newest snapshots left it would use ` +
            `at least ${usedBytes} of ${quotaBytes} bytes, and a next run needs about ${roomBytes} more; ${missingBytes} bytes are missing`
        : "the account's list of backups is full, and only the newest snapshots of this repository are in it",
      {
        hints: [
          missingBytes > 0
            ? 'back up less (fewer or smaller paths), or move the repository to a larger store (a directory or s3://…)'
            : 'remove single-stream backups from the list (`backup list` shows them)',
        ],
      },
    );
    this.missingBytes = missingBytes;
  }
}

export interface RetentionOptions {
  /** The snapshot this run just made: never forgotten. Absent when the run failed on the quota. */
  readonly justMade?: string;
  /**
   * Bytes to leave free for the next run. By default what the newest snapshot's run uploaded (a
   * day like today). After a run failed on the quota, pass at least what it had left to upload.
   */
  readonly roomBytes?: number;
  /**
   * Packs a run of this caller uploaded and then abandoned (it failed on the quota; see
   * UploadTracker): deleted first unless an index lists them, since prune refuses while young packs
   * no index lists show a writer at work (§12.14) and this writer is known to be dead.
   */
  readonly abandonedPacks?: readonly string[];
  /** Names this run in the prune lock. */
  readonly owner: string;
  readonly now?: () => Date;
}

export interface RetentionReport {
  /**
   * Only with `justMade`: the room for a next run is short, and no forgetting can make it (what
   * would otherwise be thrown); the snapshot just made is stored all the same. Undefined when the
   * room fits.
   */
  readonly roomShort: QuotaTooSmallError | undefined;
  /** Snapshot ids forgotten, oldest first. */
  readonly forgotten: string[];
  readonly packsDeleted: number;
  readonly bytesFreed: number;
  readonly quotaBytes: number;
  /** Bytes the account uses afterwards. */
  readonly usedBytes: number;
  readonly roomBytes: number;
}

/**
 * Forgets the oldest snapshots, one at a time, and prunes after each, until the account's usage plus
 * `roomBytes` fits its quota and its list of backups can take one more. Never forgets the newest
 * snapshot nor `justMade`. Before forgetting the first, it checks that forgetting can make the
 * room at all: the account's usage less everything the snapshots it may forget could free
 * (`retainedBytes`), plus `roomBytes`, must fit the quota; otherwise it forgets nothing
 * (docs/BACKUP.md "Repositories in ChatD storage"). When the room cannot be made it throws
 * QuotaTooSmallError, or with `justMade` returns it as `roomShort` (the snapshot is stored; only
 * the next run may not fit). It throws RepositoryBusyError (from prune) while another writer is at
 * work: snapshots forgotten by then stay forgotten, and their space is freed by the next run's prune.
 */
export async function keepWithinQuota(
  repository: Repository,
  account: RetentionAccount,
  options: RetentionOptions,
): Promise<RetentionReport> {
  const deleted = await deleteAbandonedPacks(repository, options.abandonedPacks ?? []);
  const forgotten: string[] = [];
  let packsDeleted = deleted.count;
  let bytesFreed = deleted.bytes;
  const snapshots = await repository.listSnapshots();
  const newest = snapshots.at(-1);
  const roomBytes = options.roomBytes ?? newest?.added ?? 0;
  // Oldest first; the newest and the one just made stay whatever the quota says.
  const kept = snapshots.filter((s) => s === newest || s.id === options.justMade);
  const candidates = snapshots.filter((s) => !kept.includes(s));
  let checked = false;
  for (;;) {
    const { quotaBytes, usedBytes, entriesLeft } = await account.usage();
    const report = { forgotten, packsDeleted, bytesFreed, quotaBytes, usedBytes, roomBytes };
    // Room for the next run's objects, and for its entry in the list of backups.
    if (usedBytes + roomBytes <= quotaBytes && entriesLeft >= 1) return { ...report, roomShort: undefined };
    const short = (error: QuotaTooSmallError): RetentionReport => {
      // After a snapshot, a short room is news for the next run, not this run's failure.
      if (options.justMade === undefined) throw error;
      return { ...report, roomShort: error };
    };
    if (!checked && candidates.length > 0) {
      // Forget nothing in vain: if even forgetting every candidate cannot make the room, say so
      // before the first is forgotten (docs/BACKUP.md "Repositories in ChatD storage").
      checked = true;
      const retained = await retainedBytes(repository, usedBytes, kept);
      if (retained + roomBytes > quotaBytes || entriesLeft + candidates.length < 1)
        return short(new QuotaTooSmallError(quotaBytes, retained, roomBytes));
    }
    const oldest: SnapshotInfo | undefined = candidates.shift();
    if (oldest === undefined) return short(new QuotaTooSmallError(quotaBytes, usedBytes, roomBytes));
    await deleteIfPresent(repository.store, SNAPSHOT_PREFIX + oldest.id);
    await account.snapshotForgotten(oldest.id);
    forgotten.push(oldest.id);
    const pruned: PruneReport = await pruneRepository(repository, { owner: options.owner, now: options.now });
    packsDeleted += pruned.packsDeleted;
    bytesFreed += pruned.bytesFreed;
  }
}

/**
 * The least the account uses whatever retention forgets, `kept` aside: `usedBytes` less an upper
 * bound of what forgetting every other snapshot and pruning can free. That bound is every pack,
 * index and forgettable snapshot object of the repository, less the bytes of the blobs the kept
 * snapshots use (they stay in some pack whatever prune repacks). What is not the repository's (a
 * single-stream backup, another writer's lock) stays too. Reads the kept snapshots' trees.
 */
export async function retainedBytes(
  repository: Repository,
  usedBytes: number,
  kept: readonly SnapshotInfo[],
): Promise<number> {
  const { store } = repository;
  const keptNames = new Set(kept.map((s) => SNAPSHOT_PREFIX + s.id));
  let freeable = 0;
  for (const prefix of [PACK_PREFIX, INDEX_PREFIX, SNAPSHOT_PREFIX])
    for (const info of await store.list(prefix)) if (!keptNames.has(info.name)) freeable += info.size;
  const reader = await RepositoryReader.open(repository);
  const used = await reader.blobsUsedBy(kept.map((snapshot) => snapshot.tree));
  let keptBlobBytes = 0;
  for (const id of used) keptBlobBytes += reader.index.get(id)?.length ?? 0;
  return Math.max(0, usedBytes - Math.max(0, freeable - keptBlobBytes));
}

/**
 * Runs `run` (a snapshot, say) against a view of `repository` that uploads nothing, and returns
 * the bytes it would have uploaded: the room a run refused by the quota needs at least, measured
 * before retention forgets anything for it (docs/BACKUP.md "Repositories in ChatD storage"). The
 * packs in `hidden` (the refused run's, about to be deleted) are not seen, so their blobs count
 * as uploaded again. Reads what the run reads; the blobs it would upload are only counted.
 */
export async function measureUpload(
  repository: Repository,
  hidden: readonly string[],
  run: (view: Repository) => Promise<unknown>,
): Promise<number> {
  const store = new MeasuringStore(repository.store, new Set(hidden));
  await run(repository.through(store));
  return store.bytes;
}

/** Reads from `inner`; counts and drops what is put (so a put blob cannot be read back). */
class MeasuringStore implements BlobStore {
  bytes = 0;
  constructor(
    private readonly inner: BlobStore,
    private readonly hidden: ReadonlySet<string>,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  async put(_name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    let size = 0;
    for await (const piece of data) size += piece.length;
    this.bytes += size;
    return size;
  }

  get(name: string): AsyncIterable<Uint8Array> {
    return this.inner.get(name);
  }

  async list(...args: Parameters<BlobStore['list']>): Promise<BlobInfo[]> {
    return (await this.inner.list(...args)).filter((info) => !this.hidden.has(info.name));
  }

  async delete(): Promise<void> {
    throw new StrongroomError('a measuring run deletes nothing');
  }
}

async function deleteAbandonedPacks(
  repository: Repository,
  abandoned: readonly string[],
): Promise<{ count: number; bytes: number }> {
  if (abandoned.length === 0) return { count: 0, bytes: 0 };
  const { indexedPacks } = await repository.loadIndex();
  const stored = new Map<string, BlobInfo>(
    (await repository.store.list(PACK_PREFIX)).map((info) => [info.name, info]),
  );
  let count = 0;
  let bytes = 0;
  for (const name of abandoned) {
    const info = stored.get(name);
    if (info === undefined || indexedPacks.has(name)) continue;
    await deleteIfPresent(repository.store, name);
    count++;
    bytes += info.size;
  }
  return { count, bytes };
}

/** Another device's retention may have deleted it first: gone is what was wanted. */
async function deleteIfPresent(store: BlobStore, name: string): Promise<void> {
  try {
    await store.delete(name);
  } catch (error) {
    if (!(error instanceof BlobNotFoundError)) throw error;
  }
}

/** Where a run began, as an UploadTracker counts: what `abandonedSince` measures from. */
export interface UploadMark {
  readonly puts: number;
  readonly failedBytes: number;
}

/** What a run refused by the quota left behind, for keepWithinQuota before it runs again. */
export interface AbandonedUploads {
  /** The packs it stored: `abandonedPacks`. */
  readonly packs: readonly string[];
  /**
   * At least what running it again uploads anew, for `roomBytes`: the packs it stored (deleted
   * as abandoned, so stored again) unless it stored the index naming them, and the whole of the
   * upload the quota refused (its content follows in a retry just the same).
   */
  readonly bytes: number;
}

/**
 * A BlobStore that remembers the packs stored through it, so a run that failed on the quota can
 * name its own packs to keepWithinQuota (`abandonedPacks`) and no other writer's, and say how much
 * room a retry needs at least (`roomBytes`; docs/BACKUP.md "Repositories in ChatD storage").
 */
export class UploadTracker implements BlobStore {
  private readonly stored: { readonly name: string; readonly size: number }[] = [];
  private failedBytes = 0;

  constructor(private readonly inner: BlobStore) {}

  get location(): string {
    return this.inner.location;
  }

  async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    const source = data[Symbol.asyncIterator]();
    let taken = 0;
    // The store may stop reading part of the way (a refusal arrives while the object is sent); the
    // source is then left open, so that what it did not take is counted below.
    const counted: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        async next() {
          const next = await source.next();
          if (next.done !== true) taken += next.value.length;
          return next;
        },
        async return() {
          return { done: true, value: undefined };
        },
      }),
    };
    let size: number;
    try {
      size = await this.inner.put(name, counted);
    } catch (error) {
      // A retry stores the whole object again, not just what was sent of it. The objects of a
      // repository are written from memory (packs, indexes, snapshots), so counting the rest
      // reads nothing. Should the source itself fail again, the put's own error is the one thrown.
      try {
        for (let next = await source.next(); next.done !== true; next = await source.next()) {
          taken += next.value.length;
        }
      } catch {}
      this.failedBytes += taken;
      throw error;
    }
    this.stored.push({ name, size });
    return size;
  }

  get(name: string): AsyncIterable<Uint8Array> {
    return this.inner.get(name);
  }

  list(...args: Parameters<BlobStore['list']>): Promise<BlobInfo[]> {
    return this.inner.list(...args);
  }

  delete(name: string): Promise<void> {
    return this.inner.delete(name);
  }

  /** The packs stored through this tracker so far, in order. */
  storedPacks(): readonly string[] {
    return this.stored.filter((put) => put.name.startsWith(PACK_PREFIX)).map((put) => put.name);
  }

  /** Taken when a run begins, for `abandonedSince` when it fails. */
  mark(): UploadMark {
    return { puts: this.stored.length, failedBytes: this.failedBytes };
  }

  /** What the run begun at `mark` left behind, once it failed on the quota. */
  abandonedSince(mark: UploadMark): AbandonedUploads {
    const since = this.stored.slice(mark.puts);
    const packs = since.filter((put) => put.name.startsWith(PACK_PREFIX));
    // A run stores its index only after all its packs, naming each (docs/FORMAT.md §12.8): then
    // they stay, and a retry finds their blobs stored.
    const indexed = since.some((put) => put.name.startsWith(INDEX_PREFIX));
    const packBytes = indexed ? 0 : packs.reduce((sum, put) => sum + put.size, 0);
    return {
      packs: packs.map((put) => put.name),
      bytes: packBytes + this.failedBytes - mark.failedBytes,
    };
  }
}
