// The file-metadata cache of a repository backup (docs/FORMAT.md §12.7 "Parent snapshot"): a file
// whose size, mtime, ctime, inode and device are those its entry has in the parent snapshot's
// authenticated tree is not read again; its chunk list is reused. As git does with its index, an
// entry whose ctime was too close to the parent run's start is not trusted ("racily clean").
import type { BigIntStats } from 'node:fs';
import { DamagedBackupError } from '../../errors.ts';
import type { RepositoryReader } from '../repository/reader.ts';
import type { Repository, SnapshotInfo } from '../repository/repository.ts';
import type { TreeEntry } from '../repository/tree.ts';
import { nameBytesOf } from '../repository/tree.ts';

/**
 * How close to the parent run's start a file may have changed and still be trusted: 2 s, the
 * coarsest timestamp a supported file system keeps (FAT's 2-second times), and far more than the
 * clock tick (a few ms) by which Linux's ctime lags the wall clock. A file changed within it may
 * have changed again after it was read with the same ctime, so it is read again.
 */
export const RACY_WINDOW_NS = 2_000_000_000n;

/**
 * The snapshot a new one of `paths` compares against: `parent` when given (an id), none when it is
 * null, else the latest snapshot of exactly the same paths (resolved, in the same order).
 */
export async function chooseParent(
  repository: Repository,
  paths: readonly string[],
  parent: string | null | undefined,
): Promise<SnapshotInfo | null> {
  if (parent === null) return null;
  if (parent !== undefined) return repository.readSnapshot(parent);
  const same = (await repository.listSnapshots()).filter(
    (snapshot) =>
      snapshot.paths.length === paths.length && snapshot.paths.every((path, i) => path === paths[i]),
  );
  return same.at(-1) ?? null;
}

/** A tree's entries by name bytes (as latin1 text: one char per byte, so equal exactly when the bytes are). */
export type EntriesByName = ReadonlyMap<string, TreeEntry>;

export const nameKey = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

/** Walks the parent snapshot's trees alongside the directories being backed up. */
export class ParentSnapshot {
  private constructor(
    private readonly reader: RepositoryReader,
    /** Entries whose ctime is at or after this are not trusted (the parent's start less the window). */
    private readonly trustedBeforeNs: bigint,
    readonly snapshot: SnapshotInfo,
  ) {}

  static async open(reader: RepositoryReader, snapshot: SnapshotInfo): Promise<ParentSnapshot> {
    const startedMs = Date.parse(snapshot.time);
    if (Number.isNaN(startedMs)) throw new DamagedBackupError(`snapshot ${snapshot.id} has no valid time`);
    return new ParentSnapshot(reader, BigInt(startedMs) * 1_000_000n - RACY_WINDOW_NS, snapshot);
  }

  /** The parent's root entries (the snapshot's paths under their base names). */
  root(): Promise<EntriesByName> {
    return this.entries(this.snapshot.tree);
  }

  /** The parent's entries inside directory entry `entry`, or none when it is not a directory there. */
  async inside(entry: TreeEntry | undefined): Promise<EntriesByName | null> {
    return entry?.kind === 'dir' ? this.entries(entry.tree!) : null;
  }

  private async entries(treeId: string): Promise<EntriesByName> {
    const tree = await this.reader.tree(treeId);
    return new Map(tree.entries.map((entry) => [nameKey(nameBytesOf(entry)), entry]));
  }

  /**
   * The chunk list of the parent's `entry` when the file on disk (`info`, its lstat) is the one it
   * describes, unchanged: same size, mtime, ctime, inode and device, not torn, and changed long
   * enough before the parent run started that a later change would show in ctime. Else null: read it.
   */
  reusableContent(entry: TreeEntry | undefined, info: BigIntStats): readonly string[] | null {
    if (entry?.kind !== 'file' || entry.changed === true) return null;
    const same =
      entry.size === Number(info.size) &&
      entry.mtimeNs === String(info.mtimeNs) &&
      entry.ctimeNs === String(info.ctimeNs) &&
      entry.inode === String(info.ino) &&
      entry.device === String(info.dev);
    return same && info.ctimeNs < this.trustedBeforeNs ? entry.content! : null;
  }
}
