// `backup forget` and `backup prune` of a repository (docs/FORMAT.md §12.14): forget deletes
// snapshot objects a retention policy does not keep; prune, under a lock, deletes the packs no
// remaining snapshot uses, rewrites those mostly unused into new packs of their used blobs, and
// replaces the indexes by one listing the packs that stay.
import { DamagedBackupError, StrongroomError } from '../../errors.ts';
import { HeldLock, type LockOptions, liveLocks } from './lock.ts';
import { ObjectType } from './objects.ts';
import { RepositoryReader } from './reader.ts';
import {
  INDEX_PREFIX,
  indexBody,
  PACK_PREFIX,
  type PackEntry,
  type Repository,
  readWhole,
  SNAPSHOT_PREFIX,
  type SnapshotInfo,
} from './repository.ts';
import { RepositoryWriter } from './writer.ts';

/** A pack no index lists that is younger than this may be a running writer's (§12.14). */
export const WRITER_GRACE_MS = 60 * 60 * 1000;

/** Another run holds the repository (a lock, or a writer still uploading): prune did nothing. */
export class RepositoryBusyError extends StrongroomError {}

export interface RetentionPolicy {
  /** Keep the newest this many snapshots. */
  keepLast?: number;
  /** Keep the newest snapshot of each of the newest this many days (UTC) that have one. */
  keepDaily?: number;
}

/** The snapshots `policy` keeps, of `snapshots` sorted oldest first. */
export function keptSnapshots(snapshots: readonly SnapshotInfo[], policy: RetentionPolicy): Set<string> {
  const kept = new Set<string>();
  const newestFirst = [...snapshots].reverse();
  for (const snapshot of newestFirst.slice(0, policy.keepLast ?? 0)) kept.add(snapshot.id);
  const days = new Set<string>();
  for (const snapshot of newestFirst) {
    const day = snapshot.time.slice(0, 10);
    if (days.has(day) || days.size >= (policy.keepDaily ?? 0)) continue;
    days.add(day);
    kept.add(snapshot.id);
  }
  return kept;
}

/** Deletes the snapshots `policy` does not keep; returns their ids. Needs no lock: it only deletes snapshots. */
export async function forgetSnapshots(repository: Repository, policy: RetentionPolicy): Promise<string[]> {
  const snapshots = await repository.listSnapshots();
  const kept = keptSnapshots(snapshots, policy);
  const forgotten = snapshots.filter((snapshot) => !kept.has(snapshot.id)).map((snapshot) => snapshot.id);
  for (const id of forgotten) await repository.store.delete(SNAPSHOT_PREFIX + id);
  return forgotten;
}

export interface PruneReport {
  /** Packs deleted: those of which no blob was used, and those rewritten. */
  readonly packsDeleted: number;
  /** Packs whose used blobs were copied into new packs before they were deleted. */
  readonly packsRepacked: number;
  /** Bytes of packs deleted, less the bytes of the new packs written. */
  readonly bytesFreed: number;
  /** Packs of the repository afterwards, new ones included. */
  readonly packsKept: number;
}

/** A pack is rewritten once at least this share of its blob bytes is unused (§12.14; restic's max-unused). */
export const DEFAULT_MAX_UNUSED = 0.2;

export async function pruneRepository(
  repository: Repository,
  options: LockOptions & { owner: string; maxUnused?: number },
): Promise<PruneReport> {
  const maxUnused = options.maxUnused ?? DEFAULT_MAX_UNUSED;
  const now = options.now ?? (() => new Date());
  const { store } = repository;
  const lock = await HeldLock.store(repository, { owner: options.owner }, options);
  try {
    const other = (await liveLocks(repository, lock.name, now()))[0];
    if (other !== undefined)
      throw new RepositoryBusyError(
        `the repository is locked by ${JSON.stringify(other.owner)} until ${other.expires}`,
      );
    const reader = await RepositoryReader.open(repository);
    const { indexedPacks } = await repository.loadIndex();
    const packs = await store.list(PACK_PREFIX);
    for (const info of packs) {
      if (!indexedPacks.has(info.name) && now().getTime() - info.modified.getTime() < WRITER_GRACE_MS) {
        throw new RepositoryBusyError(
          `pack ${info.name} is in no index yet: another run may still be writing`,
          {
            hints: ['wait for it to finish, or run backup create once to adopt what an interrupted run left'],
          },
        );
      }
    }
    const used = await reader.blobsUsedBy(
      (await repository.listSnapshots()).map((snapshot) => snapshot.tree),
    );
    // A used blob counts in the pack the index reads it from; its copies elsewhere are unused.
    const liveByPack = new Map<string, PackEntry[]>();
    for (const id of used) {
      const location = reader.index.get(id);
      if (location === undefined)
        throw new DamagedBackupError(`blob ${id.slice(0, 16)}… is in no index; run backup check`);
      const live = liveByPack.get(location.pack);
      if (live === undefined) liveByPack.set(location.pack, [{ id, ...location }]);
      else live.push({ id, ...location });
    }
    const stored = new Set(packs.map((info) => info.name));
    const keptPacks = new Set<string>();
    const repacked = new Set<string>();
    for (const [pack, live] of liveByPack) {
      if (!stored.has(pack))
        throw new DamagedBackupError(`pack ${pack} is in use but missing; run backup check`);
      const total = indexedPacks.get(pack)!.reduce((sum, entry) => sum + entry.length, 0);
      const unused = total - live.reduce((sum, entry) => sum + entry.length, 0);
      if (unused / total >= maxUnused) repacked.add(pack);
      else keptPacks.add(pack);
    }
    const writer = RepositoryWriter.forRepacking(repository);
    let newEntries: readonly PackEntry[];
    try {
      for (const pack of repacked) {
        const bytes = await readWhole(store, pack);
        // In their order in the old pack, so that the chunks of a file stay together.
        for (const entry of liveByPack.get(pack)!.sort((a, b) => a.offset - b.offset)) {
          // Opened before it is copied: a damaged blob stops the prune here, before anything is deleted.
          await repository.openBlob(entry.id, entry, bytes);
          // A copy, so the old pack's bytes are not held until the new pack is stored.
          await writer.addSealed(
            entry,
            new Uint8Array(bytes.subarray(entry.offset, entry.offset + entry.length)),
          );
        }
      }
      newEntries = await writer.finishPacks();
    } catch (error) {
      writer.abandon(error);
      throw error;
    }
    const keptEntries: PackEntry[] = [...newEntries];
    for (const [id, location] of reader.index)
      if (keptPacks.has(location.pack)) keptEntries.push({ id, ...location });
    // The order is what makes a crash at any point lose nothing (§12.14): the new packs are stored
    // before the index that lists them, that index before the old indexes go, and the old indexes
    // are gone before any pack they list is deleted. So at every moment each used blob is in a
    // stored pack that some stored index lists. Each old index is deleted only while the lock is
    // known held: once it lapses a writer may start and rely on what the old indexes list. With
    // them gone a writer sees only the new index, which lists no pack deleted below.
    const oldIndexes = await store.list(INDEX_PREFIX);
    if (keptEntries.length > 0)
      await repository.putMetadata(
        ObjectType.index,
        repository.newName(INDEX_PREFIX),
        indexBody(keptEntries),
      );
    for (const info of oldIndexes) {
      lock.assertHeld('deleting the old indexes');
      await store.delete(info.name);
    }
    let bytesFreed = 0;
    let packsDeleted = 0;
    for (const info of packs) {
      if (keptPacks.has(info.name)) continue;
      await store.delete(info.name);
      bytesFreed += info.size;
      packsDeleted++;
    }
    return {
      packsDeleted,
      packsRepacked: repacked.size,
      bytesFreed: bytesFreed - writer.uploadedBytes,
      packsKept: keptPacks.size + new Set(newEntries.map((entry) => entry.pack)).size,
    };
  } finally {
    await lock.release();
  }
}
