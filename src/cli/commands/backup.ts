// `strongroom backup create | list | restore` (README "The CLI"; docs/BACKUP.md). One function per
// subcommand; each gets its key and store only through `backupKey` and `backupStore` below, which
// is where another way of finding them (a device enrolled with the vault) plugs in.
import type { Command } from 'commander';
import { listBackups } from '../../client/backup/backups.ts';
import { formatBytes } from '../../client/format-bytes.ts';
import { createBackup, restoreBackup } from '../../client/node/backup.ts';
import type { BackupKey } from '../../format/key.ts';
import type { BlobStore } from '../../stores/blob/blob-store.ts';
import { removeUnfinishedOnInterrupt } from '../interrupt.ts';
import { createProgress } from '../progress.ts';
import {
  printJson,
  registerDeviceBackup,
  runDeviceCreate,
  runDeviceList,
  runDeviceRestore,
} from './backup-device.ts';
import { reportProblems, reportRestored } from './backup-problems.ts';
import { registerRepositoryBackup } from './backup-repository.ts';
import { type KeyOptions, resolveKey, resolveStore, type StoreOptions } from './options.ts';

interface CreateOptions extends KeyOptions, StoreOptions {
  to?: string;
  compress?: boolean;
  json?: boolean;
  oneFileSystem?: boolean;
}
interface ListOptions extends StoreOptions {
  from?: string;
  json?: boolean;
}
interface RestoreOptions extends KeyOptions, StoreOptions {
  from?: string;
  id?: string;
  to: string;
  force?: boolean;
}

/** The key a backup subcommand works with. */
function backupKey(options: KeyOptions): Promise<BackupKey> {
  return resolveKey(options);
}

/** The store a backup subcommand works with; `flag` names the option it came from. */
function backupStore(
  spec: string | undefined,
  flag: '--to' | '--from',
  options: StoreOptions,
): Promise<BlobStore> {
  return resolveStore(spec, flag, options);
}

export function registerBackup(program: Command): void {
  const backup = program.command('backup').description('back up paths to a store, list backups, restore one');
  const keyFile = ['--key-file <file>', 'file holding the backup key (else STRONGROOM_KEY)'] as const;
  const endpoint = ['--s3-endpoint <url>', 'S3 endpoint for s3:// stores (else AWS_ENDPOINT_URL)'] as const;
  const device = [
    '--device <dir>',
    "use this device's account and server (backup-device.ts) instead of a key and store",
  ] as const;
  const json = ['--json', 'machine-readable output on stdout (sizes in bytes)'] as const;

  backup
    .command('create')
    .description('back up PATH... (files, directories, symlinks) as a new encrypted backup; prints its id')
    .argument('<paths...>', 'files and directories to back up, each kept under its base name')
    .option(...keyFile)
    .option('--to <store>', 'where to store it: a directory or s3://bucket/prefix')
    .option('--compress', 'deflate the archive before encryption (helps text, not media)')
    .option(...json)
    .option('--one-file-system', 'do not back up what is mounted inside PATH (mount points stay, empty)')
    .option(...endpoint)
    .option(...device)
    .action(runCreate);

  backup
    .command('list')
    .description('list the backups in a store: id, size, creation time (oldest first)')
    .option('--from <store>', 'a directory or s3://bucket/prefix')
    .option(...json)
    .option(...endpoint)
    .option(...device)
    .action(runList);

  backup
    .command('restore')
    .description(
      'restore a backup (the latest unless --id) into DIR; nothing is written unless it all verifies',
    )
    .option(...keyFile)
    .option('--from <store>', 'a directory or s3://bucket/prefix')
    .option('--id <id>', 'the backup to restore (default: the latest)')
    .requiredOption('--to <dir>', 'directory to restore into (new or empty, unless --force)')
    .option('--force', 'restore into a non-empty directory, replacing same-named entries')
    .option(...endpoint)
    .option(...device)
    .option(
      '--password-stdin',
      'with --device: read the password for the vault from stdin (for scripts; without it, a terminal is asked)',
    )
    .option(
      '--password-changed-elsewhere',
      'with --device: you changed the password on another device since this one last used it',
    )
    .action(runRestore);

  registerDeviceBackup(backup);
  registerRepositoryBackup(backup);
}

export async function runCreate(
  paths: string[],
  options: CreateOptions & { device?: string },
): Promise<void> {
  removeUnfinishedOnInterrupt();
  if (options.device !== undefined) return runDeviceCreate(paths, { ...options, device: options.device });
  const store = await backupStore(options.to, '--to', options);
  const key = await backupKey(options);
  const progress = createProgress('backup');
  const started = performance.now();
  try {
    const result = await createBackup(paths, {
      key,
      store,
      compress: options.compress ?? false,
      oneFileSystem: options.oneFileSystem ?? false,
      onPlan: (plan) => {
        for (const { path, reason } of plan.skipped)
          process.stderr.write(`strongroom: warning: skipped '${path}' (${reason})\n`);
      },
      onProgress: (done, total) => progress.update(done, total),
    });
    progress.stop();
    if (options.json) {
      printJson({
        id: result.id,
        size: result.size,
        contentBytes: result.plan.contentBytes,
        created: result.created.toISOString(),
        store: store.location,
      });
    } else process.stdout.write(`${result.id}\n`);
    reportProblems(result);
    if (process.stderr.isTTY) {
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write(
        `backed up ${result.plan.entries.length} entries (${formatBytes(result.plan.contentBytes)}) as ${formatBytes(result.size)} to ${store.location} in ${seconds.toFixed(1)} s\n`,
      );
    }
  } finally {
    progress.stop();
    key.destroy();
  }
}

export async function runList(options: ListOptions & { device?: string }): Promise<void> {
  if (options.device !== undefined) return runDeviceList({ device: options.device, json: options.json });
  const store = await backupStore(options.from, '--from', options);
  const backups = await listBackups(store, (name, reason) =>
    process.stderr.write(`strongroom: warning: ignored '${name}' in ${store.location}: ${reason}\n`),
  );
  if (options.json) {
    const location = store.location;
    printJson(backups.map((b) => ({ id: b.id, size: b.size, created: b.created.toISOString(), location })));
    return;
  }
  if (backups.length === 0) process.stderr.write(`no backups in ${store.location}\n`);
  for (const backup of backups) {
    const created = backup.created
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d{3}Z$/, ' UTC');
    process.stdout.write(`${backup.id}  ${formatBytes(backup.size).padStart(10)}  ${created}\n`);
  }
}

export async function runRestore(
  options: RestoreOptions & { device?: string; passwordStdin?: boolean; passwordChangedElsewhere?: boolean },
): Promise<void> {
  removeUnfinishedOnInterrupt();
  if (options.device !== undefined) return runDeviceRestore({ ...options, device: options.device });
  const store = await backupStore(options.from, '--from', options);
  const key = await backupKey(options);
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
