// `strongroom backup snapshot | snapshots | restore-snapshot | check` (README "CLI"; docs/FORMAT.md
// §12, docs/BACKUP.md "Repositories"): incremental, deduplicated snapshots in a repository kept in
// a directory or S3 store, next to the single-stream backups of `backup create`.
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { listBackups } from '../../client/backup/backups.ts';
import { formatBytes } from '../../client/format-bytes.ts';
import { nodeCrypto } from '../../client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../client/node/repository-backup.ts';
import { zstdCompression } from '../../client/node/zstd-compression.ts';
import { createWorkerZstdCompression } from '../../client/node/zstd-workers.ts';
import { checkRepository } from '../../client/repository/check.ts';
import type { ChunkCompression } from '../../client/repository/compression.ts';
import { forgetSnapshots, pruneRepository } from '../../client/repository/prune.ts';
import { Repository } from '../../client/repository/repository.ts';
import { DamagedBackupError, UsageError } from '../../errors.ts';
import { removeUnfinishedOnInterrupt } from '../interrupt.ts';
import { printJson } from './backup-device.ts';
import { type KeyOptions, resolveKey, resolveStore, type StoreOptions } from './options.ts';

interface RepositoryOptions extends KeyOptions, StoreOptions {
  json?: boolean;
}

async function openRepository(
  spec: string | undefined,
  flag: '--to' | '--from',
  options: RepositoryOptions,
  create: boolean,
  compression: ChunkCompression = zstdCompression(),
) {
  const store = await resolveStore(spec, flag, options);
  const key = await resolveKey(options);
  try {
    return create
      ? await Repository.openOrCreate(store, key, nodeCrypto, { compression })
      : await Repository.open(store, key, nodeCrypto, { compression });
  } finally {
    key.destroy(); // the repository holds only keys derived from K
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

export function registerRepositoryBackup(backup: Command): void {
  const keyFile = ['--key-file <file>', 'file holding the backup key (else STRONGROOM_KEY)'] as const;
  const endpoint = ['--s3-endpoint <url>', 'S3 endpoint for s3:// stores (else AWS_ENDPOINT_URL)'] as const;
  const json = ['--json', 'machine-readable output on stdout (sizes in bytes)'] as const;

  backup
    .command('snapshot')
    .description(
      'back up PATH... as a new snapshot in a repository, uploading only content it does not hold; prints its id',
    )
    .argument('<paths...>', 'files and directories to back up, each kept under its base name')
    .option(...keyFile)
    .requiredOption('--to <store>', 'the repository: a directory or s3://bucket/prefix')
    .option(...json)
    .option(...endpoint)
    .action(async (paths: string[], options: RepositoryOptions & { to: string }) => {
      removeUnfinishedOnInterrupt();
      // Compressing is most of a first backup's work: it runs on one worker per core.
      const compression = createWorkerZstdCompression();
      const repository = await openRepository(options.to, '--to', options, true, compression);
      try {
        const snapshot = await createSnapshot(repository, paths);
        if (options.json) printJson(snapshot);
        else process.stdout.write(`${snapshot.id}\n`);
        process.stderr.write(
          `snapshot ${snapshot.id}: ${snapshot.files} files, ${formatBytes(snapshot.size)}, ${formatBytes(snapshot.added)} uploaded\n`,
        );
      } finally {
        repository.close();
        await compression.close();
      }
    });

  backup
    .command('snapshots')
    .description("list a repository's snapshots: id, time, files, size, bytes added (oldest first)")
    .option(...keyFile)
    .requiredOption('--from <store>', 'the repository: a directory or s3://bucket/prefix')
    .option(...json)
    .option(...endpoint)
    .action(async (options: RepositoryOptions & { from: string }) => {
      const repository = await openRepository(options.from, '--from', options, false);
      try {
        const snapshots = await repository.listSnapshots();
        // Single-stream backups may share the store; they are listed and restored by backup list/restore.
        const streams = await listBackups(repository.store);
        if (options.json) return printJson(snapshots);
        if (snapshots.length === 0) process.stderr.write(`no snapshots in ${repository.store.location}\n`);
        if (streams.length > 0) {
          process.stderr.write(
            `and ${streams.length} single-stream backups (see backup list, backup restore)\n`,
          );
        }
        for (const s of snapshots) {
          process.stdout.write(
            `${s.id}  ${s.time}  ${String(s.files).padStart(7)} files  ${formatBytes(s.size).padStart(10)}  +${formatBytes(s.added)}\n`,
          );
        }
      } finally {
        repository.close();
      }
    });

  backup
    .command('restore-snapshot')
    .description(
      'restore a snapshot (the latest unless --id), or one path in it, into DIR; nothing is moved there unless it all verifies',
    )
    .option(...keyFile)
    .requiredOption('--from <store>', 'the repository: a directory or s3://bucket/prefix')
    .option('--id <id>', 'the snapshot (default: the latest)')
    .option('--path <path>', 'only this path in the snapshot, e.g. chat/media')
    .requiredOption('--to <dir>', 'directory to restore into (new or empty, unless --force)')
    .option('--force', 'restore into a non-empty directory, replacing same-named entries')
    .option(...endpoint)
    .action(
      async (
        options: RepositoryOptions & {
          from: string;
          id?: string;
          path?: string;
          to: string;
          force?: boolean;
        },
      ) => {
        removeUnfinishedOnInterrupt();
        const repository = await openRepository(options.from, '--from', options, false);
        try {
          const snapshot = await restoreSnapshot(repository, options);
          process.stderr.write(`restored snapshot ${snapshot.id} into ${options.to}\n`);
        } finally {
          repository.close();
        }
      },
    );

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
        const repository = await openRepository(options.from, '--from', options, false);
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
      const repository = await openRepository(options.from, '--from', options, false);
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
    .description(
      'delete the packs no snapshot uses and rewrite those 20 % or more unused (takes a lock; refuses while another run is writing)',
    )
    .option(...keyFile)
    .requiredOption('--from <store>', 'the repository: a directory or s3://bucket/prefix')
    .option(...endpoint)
    .action(async (options: RepositoryOptions & { from: string }) => {
      const repository = await openRepository(options.from, '--from', options, false);
      try {
        const report = await pruneRepository(repository, { owner: `${hostname()}:${process.pid}` });
        process.stderr.write(
          `deleted ${report.packsDeleted} packs, ${report.packsRepacked} of them rewritten (${formatBytes(report.bytesFreed)} freed), kept ${report.packsKept}\n`,
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
