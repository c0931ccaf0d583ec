// `backup check` of a repository (docs/FORMAT.md §12.13): the structure always (every snapshot and
// index opens, every tree a snapshot reaches opens and every blob it names is indexed in a pack
// that exists), and with `readData` every byte of a share of the packs (every blob opened and
// checked against its id, every pack header matching the index). Browser-safe.
import { DamagedBackupError } from '../../errors.ts';
import { escapeName } from './escaped-names.ts';
import { RepositoryReader } from './reader.ts';
import { PACK_PREFIX, type Repository, readWhole, SNAPSHOT_PREFIX } from './repository.ts';
import { nameBytesOf } from './tree.ts';

export interface CheckOptions {
  /** Read this share of the packs in full (0 to 1; 1 is `--read-data`). 0 by default. */
  readData?: number;
  /** Picks the packs to read when `readData` < 1 (random by default). */
  random?: () => number;
}

export interface CheckReport {
  readonly snapshots: number;
  readonly packs: number;
  readonly packsRead: number;
  /** One line per problem found; empty when the repository is sound. */
  readonly problems: string[];
}

const describe = (error: unknown) => (error instanceof DamagedBackupError ? error.message : String(error));

export async function checkRepository(
  repository: Repository,
  options: CheckOptions = {},
): Promise<CheckReport> {
  const problems: string[] = [];
  let reader: RepositoryReader;
  try {
    reader = await RepositoryReader.open(repository);
  } catch (error) {
    return { snapshots: 0, packs: 0, packsRead: 0, problems: [describe(error)] };
  }
  const packNames = new Set((await repository.store.list(PACK_PREFIX)).map((info) => info.name));
  for (const location of new Set([...reader.index.values()].map((entry) => entry.pack))) {
    if (!packNames.has(location))
      problems.push(`pack ${location} is listed in an index but missing from the store`);
  }
  const snapshotNames = (await repository.store.list(SNAPSHOT_PREFIX)).map((info) => info.name);
  const seenTrees = new Set<string>();
  const walk = async (treeId: string): Promise<void> => {
    if (seenTrees.has(treeId)) return;
    seenTrees.add(treeId);
    const tree = await reader.tree(treeId);
    for (const entry of tree.entries) {
      if (entry.kind === 'dir') await walk(entry.tree!);
      for (const id of entry.content ?? []) {
        if (!reader.index.has(id))
          problems.push(`chunk ${id.slice(0, 16)}… of '${escapeName(nameBytesOf(entry))}' is in no index`);
      }
    }
  };
  for (const name of snapshotNames) {
    try {
      await walk((await repository.readSnapshot(name)).tree);
    } catch (error) {
      problems.push(`${name}: ${describe(error)}`);
    }
  }
  const share = options.readData ?? 0;
  const random = options.random ?? Math.random;
  let packsRead = 0;
  for (const pack of packNames) {
    if (share < 1 && !(random() < share)) continue;
    packsRead++;
    try {
      await checkPack(repository, reader, pack);
    } catch (error) {
      problems.push(describe(error));
    }
  }
  return { snapshots: snapshotNames.length, packs: packNames.size, packsRead, problems };
}

/**
 * Reads one pack whole: its header must verify, every blob in it must open under its id, and an
 * index that places a blob in this pack must agree with the header. A pack no index lists yet (an
 * interrupted run's) is sound: the next `backup create` adopts it (§12.8).
 */
async function checkPack(repository: Repository, reader: RepositoryReader, pack: string): Promise<void> {
  const bytes = await readWhole(repository.store, pack);
  for (const entry of await repository.readPackHeader(pack, bytes)) {
    await repository.openBlob(entry.id, entry, bytes);
    const indexed = reader.index.get(entry.id);
    if (
      indexed?.pack === pack &&
      (indexed.offset !== entry.offset || indexed.length !== entry.length || indexed.type !== entry.type)
    ) {
      throw new DamagedBackupError(
        `an index places blob ${entry.id.slice(0, 16)}… in pack ${pack} where its header does not`,
      );
    }
  }
}
