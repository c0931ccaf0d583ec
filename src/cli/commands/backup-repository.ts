// `strongroom backup create | list | restore` with a key and a store, and `backup check | forget |
// prune` (README "The CLI"; docs/BACKUP.md "Repositories"; docs/FORMAT.md §12): snapshots in the
// repository kept in a directory or S3 store, next to the single-stream backups made before
// repositories, which list and restore as they always did (docs/BACKUP.md "Older backups").
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { listBackups } from '../../client/backup/backups.ts';
import { formatBytes } from '../../client/format-bytes.ts';
import { restoreBackup } from '../../client/node/backup.ts';
import { nodeCrypto } from '../../client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../client/node/repository-backup.ts';
import { zstdCompression } from '../../client/node/zstd-compression.ts';
import { createWorkerZstdCompression } from '../../client/node/zstd-workers.ts';
import { checkRepository } from '../../client/repository/check.ts';
import type { ChunkCompression } from '../../client/repository/compression.ts';
import { forgetSnapshots, pruneRepository } from '../../client/repository/prune.ts';
import {
  CONFIG_NAME,
  isSnapshotId,
  Repository,
  type SnapshotInfo,
} from '../../client/repository/repository.ts';
import { withWriterLock } from '../../client/repository/writer-lock.ts';
import { DamagedBackupError, StrongroomError, UsageError } from '../../errors.ts';
import type { BlobStore } from '../../stores/blob/blob-store.ts';
import { onInterrupt } from '../../temporaries.ts';
import { createProgress } from '../progress.ts';
import { snapshotProgress } from '../snapshot-progress.ts';
import { printBackupList, printJson, reportCreatedSnapshot } from './backup-listing.ts';
import { type RestorePath, reportRestored, reportRestoredSnapshot } from './backup-problems.ts';
import { type KeyOptions, resolveKey, resolveStore, type StoreOptions } from './options.ts';

interface RepositoryOptions extends KeyOptions, StoreOptions {
  json?: boolean;
}
export interface StoreCreateOptions extends RepositoryOptions {
  to?: string;
  /** The snapshot whose unchanged files are not read again (default: the latest of the same paths). */
  parent?: string;
  oneFileSystem?: boolean;
}
export interface StoreListOptions extends RepositoryOptions {
  from?: string;
}
export interface StoreRestoreOptions extends KeyOptions, StoreOptions {
  from?: string;
  id?: string;
  /** `--path`, parsed (parseRestorePath). */
  path?: RestorePath;
  to: string;
  force?: boolean;
}

/**
 * Opens (or with `create`, makes on first use) the repository in `store` under the given key, with
 * libzstd compressing new blobs (docs/FORMAT.md §12.10).
 */
async function openRepository(
  store: BlobStore,
  options: KeyOptions,
  create: boolean,
  compression: ChunkCompression = zstdCompression(),
): Promise<Repository> {
  const key = await resolveKey(options);
  try {
    return create
      ? await Repository.openOrCreate(store, key, nodeCrypto, { compression })
      : await Repository.open(store, key, nodeCrypto, { compression });
  } finally {
    key.destroy(); // the repository holds only keys derived from K
  }
}

async function openExistingRepository(spec: string, options: RepositoryOptions): Promise<Repository> {
  return openRepository(await resolveStore(spec, '--from', options), options, false);
}

/** True when `store` holds a repository (its config), so its snapshots need the key to be read. */
async function holdsRepository(store: BlobStore): Promise<boolean> {
  return (await store.list(CONFIG_NAME)).some((info) => info.name === CONFIG_NAME);
}

/**
 * `backup create PATH... --to STORE`: a new snapshot; content the repository holds already, also
 * from a run that was interrupted, is not uploaded again (docs/FORMAT.md §12.8).
 */
export async function runStoreCreate(paths: string[], options: StoreCreateOptions): Promise<void> {
  const store = await resolveStore(options.to, '--to', options);
  // Compressing is most of a first backup's work: it runs on one worker per core.
  const compression = createWorkerZstdCompression();
  const repository = await openRepository(store, options, true, compression).catch(async (error) => {
    await compression.close();
    throw error;
  });
  try {
    // Under a writer's lock, so that a prune elsewhere does not delete packs this run relies on
    // (docs/FORMAT.md §12.15).
    const oneFileSystem = options.oneFileSystem ?? false;
    const progress = snapshotProgress(paths, { oneFileSystem });
    const snapshot = await withWriterLock(
      repository,
      `${hostname()}:${process.pid}`,
      (lock) =>
        createSnapshot(repository, paths, { parent: options.parent, oneFileSystem, lock, ...progress.hooks }),
      { whileHeld: onInterrupt },
    ).finally(() => progress.stop());
    reportCreatedSnapshot(snapshot, store.location, options.json ?? false);
  } finally {
    repository.close();
    await compression.close();
  }
}

/** `backup list --from STORE`: snapshots and single-stream backups, oldest first. */
export async function runStoreList(options: StoreListOptions): Promise<void> {
  const store = await resolveStore(options.from, '--from', options);
  const streams = await listBackups(store, (name, reason) =>
    process.stderr.write(`strongroom: warning: ignored '${name}' in ${store.location}: ${reason}\n`),
  );
  let snapshots: SnapshotInfo[] = [];
  if (await holdsRepository(store)) {
    const repository = await openRepository(store, options, false);
    try {
      snapshots = await repository.listSnapshots();
    } finally {
      repository.close();
    }
  }
  printBackupList(snapshots, streams, {
    location: store.location,
    json: options.json,
    nothing: `no backups in ${store.location}`,
  });
}

/**
 * `backup restore [ID] --from STORE --to DIR`: the snapshot or single-stream backup ID, else the
 * latest of either kind; both write nothing into DIR unless everything verified.
 */
export async function runStoreRestore(options: StoreRestoreOptions): Promise<void> {
  const store = await resolveStore(options.from, '--from', options);
  let snapshotId = options.id !== undefined && isSnapshotId(options.id) ? options.id : undefined;
  if (options.id === undefined && (await holdsRepository(store))) {
    snapshotId = await latestIsSnapshot(store, options);
  }
  if (snapshotId !== undefined) {
    const repository = await openRepository(store, options, false);
    const progress = createProgress('restore');
    try {
      const snapshot = await restoreSnapshot(repository, {
        id: snapshotId,
        to: options.to,
        path: options.path?.bytes,
        force: options.force,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.stop();
      const { id, changed, restored } = snapshot;
      reportRestoredSnapshot({ id, changed, ...restored }, options.path, options.to);
    } finally {
      progress.stop();
      repository.close();
    }
    return;
  }
  if (options.path !== undefined) {
    throw new UsageError('--path restores a path inside a snapshot; a single-stream backup restores whole');
  }
  await restoreStream(store, options);
}

/** The latest snapshot's id when it is newer than every single-stream backup in `store`. */
async function latestIsSnapshot(store: BlobStore, options: KeyOptions): Promise<string | undefined> {
  const repository = await openRepository(store, options, false);
  let latest: SnapshotInfo | undefined;
  try {
    latest = (await repository.listSnapshots()).at(-1);
  } finally {
    repository.close();
  }
  const stream = (await listBackups(store)).at(-1);
  if (latest === undefined) {
    if (stream === undefined) throw new StrongroomError(`no backups in ${store.location}`);
    return undefined;
  }
  return stream !== undefined && stream.created.toISOString() > latest.time ? undefined : latest.id;
}

async function restoreStream(store: BlobStore, options: StoreRestoreOptions): Promise<void> {
  const key = await resolveKey(options);
  const progress = createProgress('restore');
  try {
    const result = await restoreBackup({
      key,
      store,
      id: options.id,
      to: options.to,
      force: options.force ?? false,
      onProgress: (done, total) => progress.update(done, total),
    });
    progress.stop();
    reportRestored(result, options.to);
  } finally {
    progress.stop();
    key.destroy();
  }
}

/** `--read-data-subset 10%` as 0.1. */
function parseShare(text: string): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const share = match === null ? Number.NaN : Number(match[1]) / 100;
  if (!(share > 0 && share <= 1))
    throw new UsageError(`--read-data-subset takes a percentage such as 10%, got ${JSON.stringify(text)}`);
  return share;
}

/** Adds `check`, `forget` and `prune` to the `backup` command that backup.ts made. */
export function registerRepositoryMaintenance(backup: Command): void {
  const keyFile = ['--key-file <file>', 'file holding the backup key (else STRONGROOM_KEY)'] as const;
  const endpoint = ['--s3-endpoint <url>', 'S3 endpoint for s3:// stores (else AWS_ENDPOINT_URL)'] as const;
  const json = ['--json', 'machine-readable output on stdout (sizes in bytes)'] as const;

  backup
    .command('check')
    .description("verify a repository's structure, and with --read-data every byte")
    .option(...keyFile)
    .requiredOption('--from <store>', 'the repository: a directory or s3://bucket/prefix')
    .option('--read-data', 'read and verify every pack')
    .option(
      '--read-data-subset <percent>',
      'read and verify this share of the packs, chosen at random (e.g. 10%)',
    )
    .option(...json)
    .option(...endpoint)
    .action(
      async (options: RepositoryOptions & { from: string; readData?: boolean; readDataSubset?: string }) => {
        const readData = options.readData
          ? 1
          : options.readDataSubset !== undefined
            ? parseShare(options.readDataSubset)
            : 0;
        const repository = await openExistingRepository(options.from, options);
        try {
          const report = await checkRepository(repository, { readData });
          if (options.json) printJson(report);
          for (const problem of report.problems) process.stderr.write(`strongroom: ${problem}\n`);
          process.stderr.write(
            `checked ${report.snapshots} snapshots, ${report.packs} packs (${report.packsRead} read in full): ${report.problems.length} problems\n`,
          );
          if (report.problems.length > 0)
            throw new DamagedBackupError(`the repository has ${report.problems.length} problems`);
        } finally {
          repository.close();
        }
      },
    );

  backup
    .command('forget')
    .description('delete the snapshots a retention policy does not keep (their data goes with backup prune)')
    .option(...keyFile)
    .requiredOption('--from <store>', 'the repository: a directory or s3://bucket/prefix')
    .option('--keep-last <n>', 'keep the newest N snapshots', parseCount)
    .option('--keep-daily <d>', 'keep the newest snapshot of each of the newest D days', parseCount)
    .option(...endpoint)
    .action(async (options: RepositoryOptions & { from: string; keepLast?: number; keepDaily?: number }) => {
      if (options.keepLast === undefined && options.keepDaily === undefined) {
        throw new UsageError('say what to keep: --keep-last N and/or --keep-daily D');
      }
      const repository = await openExistingRepository(options.from, options);
      try {
        const forgotten = await forgetSnapshots(repository, options);
        for (const id of forgotten) process.stdout.write(`${id}\n`);
        process.stderr.write(`forgot ${forgotten.length} snapshots; run backup prune to free their data\n`);
      } finally {
        repository.close();
      }
    });

  backup
    .command('prune')
    .description('delete the packs no snapshot uses (takes a lock; refuses while another run is writing)')
    .option(...keyFile)
    .requiredOption('--from <store>', 'the repository: a directory or s3://bucket/prefix')
    .option(...endpoint)
    .action(async (options: RepositoryOptions & { from: string }) => {
      const repository = await openExistingRepository(options.from, options);
      try {
        const report = await pruneRepository(repository, { owner: `${hostname()}:${process.pid}` });
        process.stderr.write(
          `deleted ${report.packsDeleted} packs (${formatBytes(report.bytesFreed)}), kept ${report.packsKept}\n`,
        );
      } finally {
        repository.close();
      }
    });
}

function parseCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`expected a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}
