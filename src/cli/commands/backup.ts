// `strongroom backup create | list | restore` (README "The CLI"; docs/BACKUP.md). With a key and a
// store, create makes a snapshot in the store's repository and list/restore see both its snapshots
// and the single-stream backups made before repositories (backup-repository.ts); with `--device`
// the device's account and server do (backup-device.ts). Each gets its key and store only through
// options.ts.
import type { Command } from 'commander';
import { removeUnfinishedOnInterrupt } from '../interrupt.ts';
import { registerDeviceBackup, runDeviceCreate, runDeviceList, runDeviceRestore } from './backup-device.ts';
import { parseRestorePath } from './backup-problems.ts';
import {
  registerRepositoryMaintenance,
  runStoreCreate,
  runStoreList,
  runStoreRestore,
  type StoreCreateOptions,
  type StoreListOptions,
  type StoreRestoreOptions,
} from './backup-repository.ts';

export function registerBackup(program: Command): void {
  const backup = program
    .command('backup')
    .description('back up paths as snapshots in a repository, list them, restore one');
  const keyFile = ['--key-file <file>', 'file holding the backup key (else STRONGROOM_KEY)'] as const;
  const endpoint = ['--s3-endpoint <url>', 'S3 endpoint for s3:// stores (else AWS_ENDPOINT_URL)'] as const;
  const device = [
    '--device <dir>',
    "use this device's account and server (backup-device.ts) instead of a key and store",
  ] as const;
  const json = ['--json', 'machine-readable output on stdout (sizes in bytes)'] as const;

  backup
    .command('create')
    .description(
      'back up PATH... (files, directories, symlinks) as a new snapshot, uploading only what the repository lacks; prints its id',
    )
    .argument('<paths...>', 'files and directories to back up, each kept under its base name')
    .option(...keyFile)
    .option('--to <store>', 'the repository (made on first use): a directory or s3://bucket/prefix')
    .option(
      '--parent <id>',
      'the snapshot whose unchanged files are not read again (default: the latest of the same paths)',
    )
    .option('--one-file-system', 'do not walk into mount points of other file systems (they are kept, empty)')
    .option(...json)
    .option(...endpoint)
    .option(...device)
    .action(runCreate);

  backup
    .command('list')
    .description(
      'list the snapshots (id, time, files, size, bytes added) and the older single-stream backups in a store, oldest first',
    )
    .option(...keyFile)
    .option('--from <store>', 'a directory or s3://bucket/prefix')
    .option(...json)
    .option(...endpoint)
    .option(...device)
    .action(runList);

  backup
    .command('restore')
    .description(
      'restore a snapshot or a single-stream backup (the latest unless ID), or one path in a snapshot, into DIR; nothing is written unless it all verifies',
    )
    .argument('[id]', 'the snapshot or backup to restore (default: the latest)')
    .option(...keyFile)
    .option('--from <store>', 'a directory or s3://bucket/prefix')
    .option('--id <id>', 'the same as ID')
    .option(
      '--path <path>',
      'only this path in the snapshot, e.g. chat/media; names are matched as exact bytes, with escapes as printed (caf\\351)',
    )
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
  registerRepositoryMaintenance(backup);
}

async function runCreate(paths: string[], options: StoreCreateOptions & { device?: string }): Promise<void> {
  removeUnfinishedOnInterrupt();
  if (options.device !== undefined) return runDeviceCreate(paths, { ...options, device: options.device });
  return runStoreCreate(paths, options);
}

async function runList(options: StoreListOptions & { device?: string }): Promise<void> {
  if (options.device !== undefined) return runDeviceList({ device: options.device, json: options.json });
  return runStoreList(options);
}

async function runRestore(
  id: string | undefined,
  options: Omit<StoreRestoreOptions, 'path'> & {
    path?: string;
    device?: string;
    passwordStdin?: boolean;
    passwordChangedElsewhere?: boolean;
  },
): Promise<void> {
  // Before any store is opened or any key or password asked for: a mistyped path fails at once.
  const path = options.path === undefined ? undefined : parseRestorePath(options.path);
  removeUnfinishedOnInterrupt();
  const chosen = { ...options, id: id ?? options.id, path };
  if (options.device !== undefined) return runDeviceRestore({ ...chosen, device: options.device });
  return runStoreRestore(chosen);
}
