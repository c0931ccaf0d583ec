// Opening a repository in a browser (docs/WEB.md "Opening a repository"; docs/FORMAT.md §12): the
// snapshots of a picked folder. Browsing one snapshot is src/client/repository/browse.ts; every
// object is verified as it is read (§12.4, §12.5), and a file's bytes reach a sink or saver that
// keeps them from the user until the last of its chunks verified, as for backup files.
import { RepositoryReader } from '../client/repository/reader.ts';
import {
  CONFIG_NAME,
  Repository,
  SNAPSHOT_PREFIX,
  type SnapshotInfo,
} from '../client/repository/repository.ts';
import { DamagedBackupError, StrongroomError } from '../errors.ts';
import type { BackupKey } from '../format/key.ts';
import { webCrypto } from '../format/webcrypto.ts';
import { FolderBlobStore, type PickedFolder } from './folder-store.ts';
import type { ReadOptions } from './open-backup.ts';

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
