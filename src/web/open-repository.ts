// Opening a repository in a browser (docs/WEB.md "Opening a repository"; docs/FORMAT.md §12): the
// snapshots of a picked folder, one snapshot's tree as a listing, and its files and folders read
// back for saving. Every object is verified as it is read (§12.4, §12.5): a tree is listed only
// once it authenticated, and a file's bytes reach a sink or saver that keeps them from the user
// until the last of its chunks verified, as for backup files.

import { ObjectType } from '../client/repository/objects.ts';
import { RepositoryReader } from '../client/repository/reader.ts';
import {
  CONFIG_NAME,
  Repository,
  SNAPSHOT_PREFIX,
  type SnapshotInfo,
} from '../client/repository/repository.ts';
import type { Tree, TreeEntry } from '../client/repository/tree.ts';
import { DamagedBackupError, StrongroomError } from '../errors.ts';
import type { ArchiveEntry } from '../format/archive.ts';
import type { BackupKey } from '../format/key.ts';
import { webCrypto } from '../format/webcrypto.ts';
import { FolderBlobStore, type PickedFolder } from './folder-store.ts';
import type { ReadOptions, SelectedEntry } from './open-backup.ts';

/**
 * The picked folder holds no repository config (docs/FORMAT.md §12.3): it is not a repository at
 * all, which is not the same as a damaged one.
 */
export class NotARepositoryError extends StrongroomError {}

/** A snapshot object that failed to open: named in the list, but it cannot be browsed. */
export interface DamagedSnapshot {
  readonly id: string;
  readonly message: string;
}

export interface OpenedRepository {
  readonly name: string;
  readonly reader: RepositoryReader;
  /** Oldest first, as `backup snapshots` lists them. */
  readonly snapshots: readonly SnapshotInfo[];
  readonly damaged: readonly DamagedSnapshot[];
  /** Zeroes the keys derived from K; the repository is unusable afterwards. */
  close(): void;
}

/**
 * Opens the repository in `folder` with `key`: WrongKeyError if the key's check value differs from
 * the config's, NotARepositoryError if there is no config, DamagedBackupError if the config or an
 * index is damaged. A damaged snapshot object is reported in `damaged`; the others still list.
 */
export async function openRepository(
  folder: PickedFolder,
  key: BackupKey,
  options: Pick<ReadOptions, 'signal'> = {},
): Promise<OpenedRepository> {
  const store = new FolderBlobStore(folder);
  if ((await store.list(CONFIG_NAME)).every((info) => info.name !== CONFIG_NAME)) {
    throw new NotARepositoryError(
      `the folder ${folder.name} is not a Strongroom repository: it has no ${CONFIG_NAME}`,
      {
        hints: [
          'choose the folder given to strongroom backup snapshot --to',
          'to open a .srb backup, choose the file itself',
        ],
      },
    );
  }
  const repository = await Repository.open(store, key, webCrypto);
  try {
    const reader = await RepositoryReader.open(repository);
    const snapshots: SnapshotInfo[] = [];
    const damaged: DamagedSnapshot[] = [];
    for (const info of await store.list(SNAPSHOT_PREFIX)) {
      options.signal?.throwIfAborted();
      try {
        snapshots.push(await repository.readSnapshot(info.name));
      } catch (error) {
        if (!(error instanceof DamagedBackupError)) throw error;
        damaged.push({ id: info.name.slice(SNAPSHOT_PREFIX.length), message: error.message });
      }
    }
    snapshots.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
    return { name: folder.name, reader, snapshots, damaged, close: () => repository.close() };
  } catch (error) {
    repository.close();
    throw error;
  }
}

/** One snapshot's entries, listed like an archive's, with the chunk ids each file needs. */
export interface SnapshotListing {
  /** In tree order: a directory before what it holds. */
  readonly entries: readonly ArchiveEntry[];
  /** The tree entry of each listed file, by path: its chunk ids. */
  readonly files: ReadonlyMap<string, TreeEntry>;
}

/**
 * Reads and verifies every tree of `snapshot` (not its chunks) and lists its entries by path. A
 * tree that fails (a damaged pack) fails the whole listing: nothing of it is shown.
 */
export async function listSnapshot(
  reader: RepositoryReader,
  snapshot: SnapshotInfo,
  options: ReadOptions = {},
): Promise<SnapshotListing> {
  const entries: ArchiveEntry[] = [];
  const files = new Map<string, TreeEntry>();
  const walk = async (tree: Tree, prefix: string): Promise<void> => {
    for (const entry of tree.entries) {
      options.signal?.throwIfAborted();
      // Tree names were checked to hold no '/' and not to be '.' or '..' (§12.7).
      const path = prefix + entry.name;
      const common = { path, mode: entry.mode, mtimeNs: BigInt(entry.mtimeNs) };
      if (entry.kind === 'file') {
        entries.push({ ...common, type: 'file', size: entry.size! });
        files.set(path, entry);
      } else if (entry.kind === 'symlink') {
        entries.push({ ...common, type: 'symlink', target: entry.target! });
      } else {
        entries.push({ ...common, type: 'directory' });
        await walk(await reader.tree(entry.tree!), `${path}/`);
      }
    }
  };
  await walk(await reader.tree(snapshot.tree), '');
  return { entries, files };
}

/**
 * Yields, in listing order, the file and directory entries of `listing` whose paths are in `paths`,
 * each file's content read chunk by chunk, every chunk verified under its id (§12.5) before it is
 * yielded, and the file's length checked against its tree at its end. Each file's content must be
 * read before the next entry. Returns only once every selected file verified to its last chunk: a
 * consumer keeps what it wrote from the user until then, and discards it if this throws.
 */
export async function* snapshotEntries(
  reader: RepositoryReader,
  listing: SnapshotListing,
  paths: ReadonlySet<string>,
  options: ReadOptions = {},
): AsyncGenerator<SelectedEntry> {
  const chosen = listing.entries.filter(
    (entry) => paths.has(entry.path) && (entry.type === 'file' || entry.type === 'directory'),
  );
  const total = chosen.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0);
  let done = 0;
  options.onProgress?.(0, total);
  for (const entry of chosen) {
    if (entry.type === 'directory') {
      yield entry;
      continue;
    }
    if (entry.type !== 'file') continue;
    const { path, size } = entry;
    const chunks = listing.files.get(path)?.content ?? [];
    async function* content(): AsyncGenerator<Uint8Array> {
      let written = 0;
      for (const id of chunks) {
        options.signal?.throwIfAborted();
        const chunk = await reader.blob(id, ObjectType.chunk);
        written += chunk.length;
        done += chunk.length;
        options.onProgress?.(done, total);
        yield chunk;
      }
      if (written !== size) {
        throw new DamagedBackupError(
          `${JSON.stringify(path)} has ${written} bytes of chunks, its tree says ${size}`,
        );
      }
    }
    yield { ...entry, content: content() };
  }
}
