// Device-mode backup commands (README "CLI"; docs/CHATD.md "What a device is told"): `backup enable
// | status | password | disable --device DIR`, and the `--device DIR` forms of `backup create | list
// | restore`, which src/cli/commands/backup.ts hands over to here. Everything goes through the
// device's ChatD session (src/client/node/chatd-session.ts); exit codes are src/errors.ts's.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatBytes } from '../../client/format-bytes.ts';
import type {
  AccountEvent,
  DeviceSession,
  RestoreReport,
  SessionOptions,
  StatusReport,
} from '../../client/node/chatd-session.ts';
import { isSnapshotId } from '../../client/repository/repository.ts';
import type { QuotaTooSmallError } from '../../client/repository/retention.ts';
import type { Argon2idParameters } from '../../client/vault/client.ts';
import { StrongroomError, UsageError } from '../../errors.ts';
import { BackupKey } from '../../format/key.ts';
import { NotificationKind } from '../../protocol/chatd/notification.ts';
import { CHATD_STORE } from '../../stores/blob/open.ts';
import { type PasswordSource, readLine, readNewPassword, readPassword } from '../password-prompt.ts';
import { createProgress } from '../progress.ts';
import { snapshotProgress } from '../snapshot-progress.ts';
import { printBackupList, printJson, reportCreatedSnapshot } from './backup-listing.ts';
import { type RestorePath, reportRestored, reportRestoredSnapshot } from './backup-problems.ts';

/**
 * Argon2id parameters from STRONGROOM_TEST_ARGON2ID ("memoryKiB,iterations,parallelism"), for tests
 * only: every device of a user must use the same parameters, and the default (64 MiB, 3, 1) is the
 * one docs/PROTOCOL.md fixes.
 */
function argon2idFromEnv(): Argon2idParameters | undefined {
  const text = process.env.STRONGROOM_TEST_ARGON2ID;
  if (text === undefined || text === '') return undefined;
  const [memory, iterations, parallelism] = text.split(',').map(Number);
  if (![memory, iterations, parallelism].every((n) => Number.isInteger(n) && n! > 0)) {
    throw new UsageError('STRONGROOM_TEST_ARGON2ID must be memoryKiB,iterations,parallelism');
  }
  return { memory: memory!, iterations: iterations!, parallelism: parallelism! };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const deviceTag = (key: string | undefined) =>
  key === undefined ? 'a device' : `device ${key.slice(0, 12)}`;

/** One line for a person about what another device of the account did (docs/CHATD.md "Notifications"). */
export function describeEvent(event: AccountEvent): string {
  const when = event.at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
  const who = deviceTag(event.subjectDevice);
  const what: Record<NotificationKind, string> = {
    [NotificationKind.deviceJoined]: `${who} joined the account`,
    [NotificationKind.deviceJoinedPending]: `${who} joined the account and waits for approval`,
    [NotificationKind.deviceApproved]: `${who} was approved`,
    [NotificationKind.deviceRemoved]: `${who} was removed from the account`,
    [NotificationKind.guessesSpent]: `${plural(event.count, 'password guess')} spent on the vault record`,
    [NotificationKind.locked]: `${who} found the vault record locked: its guesses ran out and the vault destroyed the backup key`,
    [NotificationKind.passwordChanged]: `${who} changed the backup password`,
    [NotificationKind.recovered]: `${who} recovered the backup key with the password (${plural(event.count, 'wrong password')} since it was set)`,
    [NotificationKind.backupEnabled]: `${who} turned backup on`,
    [NotificationKind.backupDisabled]: event.stoppedThisDevice
      ? `${who} turned backup off, deleting the vault record and the backups; this device forgot its key and makes no more backups (\`backup enable\` starts again)`
      : `${who} turned backup off, deleting the vault record and the backups`,
  };
  return `account: ${when}: ${what[event.kind]}`;
}

/** Opens the device's session, tells the user what other devices did meanwhile, then runs `work`. */
async function withSession<T>(
  dir: string,
  work: (session: DeviceSession) => Promise<T>,
  s3Endpoint?: string,
): Promise<T> {
  const options: SessionOptions = { argon2id: argon2idFromEnv(), s3Endpoint };
  // Loaded here, not at the top: `backup create --to DIR` would otherwise load ChatD's client, the
  // vault client and the device's keys for nothing (docs/ARCHITECTURE.md "Memory").
  const [{ DeviceSession }, { DeviceDir }] = await Promise.all([
    import('../../client/node/chatd-session.ts'),
    import('../../client/node/chatd-device.ts'),
  ]);
  const session = await DeviceSession.open(DeviceDir.open(dir), options);
  try {
    for (const event of await session.catchUp()) process.stderr.write(`${describeEvent(event)}\n`);
    return await work(session);
  } finally {
    session.close();
  }
}

interface EnableOptions {
  device: string;
  passwordStdin?: boolean;
  manualKey?: boolean;
  store?: string;
  guessLimit?: string;
  s3Endpoint?: string;
}

async function runEnable(options: EnableOptions): Promise<void> {
  if (options.passwordStdin && options.manualKey) {
    throw new UsageError('give --password-stdin or --manual-key, not both');
  }
  const limit = options.guessLimit === undefined ? undefined : Number(options.guessLimit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1))
    throw new UsageError('--guess-limit must be a whole number >= 1');
  const store = options.store ?? CHATD_STORE;
  await withSession(
    options.device,
    async (session) => {
      if (options.manualKey) {
        const key = await session.enableManual({ store });
        process.stdout.write(`${key.format()}\n`);
        key.destroy();
        process.stderr.write(
          'manual-key backup enabled: write the key above down; it is shown only once and never sent anywhere\n',
        );
        return;
      }
      const password = await readNewPassword(options, (p) => session.checkNewPassword(p));
      const summary = await session.enablePassword(password, { store, limit });
      process.stderr.write(
        `password backup enabled: the vault allows ${plural(summary.limit, 'wrong password')}; then it destroys the key\n`,
      );
    },
    options.s3Endpoint,
  );
}

export async function runDeviceCreate(
  paths: string[],
  options: { device: string; s3Endpoint?: string; json?: boolean; parent?: string; oneFileSystem?: boolean },
) {
  await withSession(
    options.device,
    async (session) => {
      const oneFileSystem = options.oneFileSystem ?? false;
      const progress = snapshotProgress(paths, { oneFileSystem });
      const snapshot = await session
        .createBackup(paths, {
          parent: options.parent,
          oneFileSystem,
          ...progress.hooks,
          // docs/BACKUP.md "Repositories in ChatD storage": the refused run is measured, uploading
          // nothing, before retention forgets anything for it; its bar counts from zero.
          onMeasure: () => {
            progress.restart();
            process.stderr.write(
              "the account's quota refused the upload: measuring what the backup needs (reading it again, uploading nothing)\n",
            );
          },
          // docs/BACKUP.md "Repositories in ChatD storage": retention made room and the run starts over.
          onRetry: (retention) => {
            progress.restart();
            process.stderr.write(
              `the account's quota refused the upload: forgot ${plural(retention.forgotten.length, 'old snapshot')}, ${formatBytes(retention.bytesFreed)} freed; backing up again\n`,
            );
          },
        })
        .finally(() => progress.stop());
      reportCreatedSnapshot(snapshot, session.device.store, options.json ?? false);
      // The snapshot is stored and registered: a short room for the next run is a warning, and
      // the run still exits 0 (docs/BACKUP.md "Repositories in ChatD storage").
      if (snapshot.roomShort !== undefined)
        process.stderr.write(`${roomShortWarning(snapshot.id, snapshot.roomShort)}\n`);
    },
    options.s3Endpoint,
  );
}

/** The warning line of a stored snapshot whose next run has too little room (docs/BACKUP.md). */
export function roomShortWarning(id: string, short: QuotaTooSmallError): string {
  return short.missingBytes > 0
    ? `strongroom: warning: snapshot ${id} is stored, but a next backup like it will not fit the account's quota: ` +
        `${formatBytes(short.missingBytes)} missing even with only this snapshot kept; back up less, or move the repository to a larger store`
    : `strongroom: warning: snapshot ${id} is stored, but the account's list of backups is full: ` +
        'remove single-stream backups (`backup list` shows them) before the next backup';
}

const utcText = (date: Date) =>
  date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');

export async function runDeviceList(options: { device: string; json?: boolean }): Promise<void> {
  await withSession(options.device, async (session) => {
    const entries = await session.listBackups();
    const streams = entries
      .filter((e) => !isSnapshotId(e.id))
      .map((e) => ({
        id: e.id,
        size: Number(e.size),
        created: new Date(Number(e.createdAtMs)),
        location: e.location,
      }));
    const snapshots = await session.listSnapshots();
    if (snapshots === undefined) {
      const count = entries.length - streams.length;
      process.stderr.write(
        `strongroom: warning: ${plural(count, 'snapshot')} in the account's storage can be listed only with the key: \`backup restore --device DIR\` recovers it\n`,
      );
    }
    printBackupList(snapshots ?? [], streams, {
      location: session.device.store,
      json: options.json,
      nothing: 'the account has no backups',
    });
  });
}

export interface DeviceRestoreOptions {
  device: string;
  to: string;
  id?: string;
  passwordStdin?: boolean;
  passwordChangedElsewhere?: boolean;
  keyFile?: string;
  /** `--path`, parsed (parseRestorePath). */
  path?: RestorePath;
  force?: boolean;
  s3Endpoint?: string;
}

/**
 * What a recovery revealed, in words that stay true (docs/CHATD.md "What a device is told"): the
 * vault's count runs from when the password was set, not from the last restore.
 */
export function describeRecovery(recovery: NonNullable<RestoreReport['recovery']>): string[] {
  const {
    failedGuessesSincePasswordSet: failed,
    failedGuessesSinceThisDevice: sinceThis,
    guessesLeft,
    limit,
  } = recovery;
  const lines = [
    `the vault counts ${plural(failed, 'wrong password')} since the password was set (${guessesLeft} of ${limit} guesses left)`,
  ];
  if (sinceThis !== undefined && sinceThis > 0) {
    lines.push(
      `warning: ${sinceThis} of them since this device last used the password; if they were not yours, change the password (backup password)`,
    );
  } else if (sinceThis === undefined && failed > 0) {
    lines.push(
      'this device has no earlier count to compare with; if not all of them were yours, change the password (backup password)',
    );
  }
  return lines;
}

export async function runDeviceRestore(options: DeviceRestoreOptions): Promise<void> {
  if (options.passwordStdin && options.keyFile !== undefined)
    throw new UsageError('give --password-stdin or --key-file, not both');
  const key =
    options.keyFile === undefined ? undefined : BackupKey.parse(await readFile(options.keyFile, 'utf8'));
  await withSession(
    options.device,
    async (session) => {
      // The password is asked for when the key is neither given nor held by this device.
      const needsPassword = options.passwordStdin || (key === undefined && !session.device.holdsBackupKey());
      const password = needsPassword ? await readPassword(options) : undefined;
      const progress = createProgress('restore');
      try {
        const result = await session.restore({
          to: options.to,
          id: options.id,
          path: options.path?.bytes,
          password,
          passwordChangedElsewhere: options.passwordChangedElsewhere,
          key,
          force: options.force,
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.stop();
        if (result.recovery !== undefined) {
          for (const line of describeRecovery(result.recovery)) process.stderr.write(`${line}\n`);
        }
        if (result.kind === 'snapshot') {
          const restored = { ...result, files: result.entries, bytes: result.contentBytes };
          reportRestoredSnapshot(restored, options.path, options.to);
        } else reportRestored(result, options.to);
      } finally {
        progress.stop();
      }
    },
    options.s3Endpoint,
  );
  key?.destroy();
}

/** The vault record's line in `backup status`: what it means for the user, not only its name. */
function describeRecord(vault: NonNullable<StatusReport['vault']>, holdsKey: boolean): string[] {
  switch (vault.status) {
    case 'active':
      return [
        'vault record: active',
        `guesses left: ${vault.guessesLeft} of ${vault.limit}`,
        `wrong passwords since the password was set: ${vault.failedGuesses}`,
      ];
    case 'out of guesses':
      return [
        `vault record: out of guesses: all ${vault.limit} were spent, no password opens it any more, and the vault destroys the key at the next attempt`,
        holdsKey
          ? 'this device holds the key: `backup password` sets a new password and gives the guesses back'
          : 'no device can restore with the password any more',
      ];
    case 'locked':
      return [
        'vault record: locked: its guesses ran out and the vault destroyed the backup key',
        holdsKey
          ? 'this device still holds the key; `backup disable` then `backup enable` makes a new record'
          : 'backups can be restored only on a device that holds the key',
      ];
    case 'deleted':
      return ['vault record: deleted (backup was turned off)'];
  }
}

async function runStatus(options: { device: string; json?: boolean }): Promise<void> {
  await withSession(options.device, async (session) => {
    const status = await session.status();
    if (options.json) {
      printJson(status);
      return;
    }
    const lines = [
      `account: ${status.user} at ${status.server}`,
      `mode: ${status.mode}`,
      `store: ${status.store}`,
    ];
    if (status.vault) lines.push(...describeRecord(status.vault, status.holdsKey));
    if (status.noRecord) lines.push('vault record: none');
    lines.push(
      status.lastBackup
        ? `last backup: ${status.lastBackup.id} (${formatBytes(status.lastBackup.size)}, ${utcText(new Date(status.lastBackup.created))})`
        : 'last backup: none',
    );
    process.stdout.write(`${lines.join('\n')}\n`);
    if (status.tampering) process.stderr.write(`warning: possible tampering: ${status.tampering}\n`);
  });
}

/** On a terminal, `disable` names what it deletes and goes on only when the user types `disable`. */
async function confirmDisable(session: DeviceSession, yes: boolean | undefined): Promise<void> {
  if (yes || !process.stdin.isTTY) return;
  const count = (await session.listBackups()).length;
  const what =
    session.device.mode === 'password'
      ? `the vault record and ${plural(count, 'backup')} of account ${session.device.userId}`
      : `${plural(count, 'backup')} of account ${session.device.userId}`;
  process.stderr.write(`this deletes ${what}; nobody can restore them afterwards\n`);
  const answer = (await readLine("type 'disable' to go on: ")).trim();
  if (answer !== 'disable') {
    throw new StrongroomError('backup disable not confirmed: nothing was deleted');
  }
}

/** Adds the device-only subcommands to the `backup` command that backup.ts made. */
export function registerDeviceBackup(backup: Command): void {
  const device = ['--device <dir>', "this device's state directory (see `account join`)"] as const;
  const passwordStdin = [
    '--password-stdin',
    'read the password as one line from stdin (for scripts; on a terminal it is asked for without echo)',
  ] as const;
  backup
    .command('enable')
    .description(
      'turn on backup for this device: password mode (the vault keeps the key) or a manual 64-digit key',
    )
    .requiredOption(...device)
    .option(...passwordStdin)
    .option('--manual-key', 'make a 64-digit key, print it once, never send it anywhere')
    .option(
      '--store <store>',
      'where backups go: chatd: (the server), a directory or s3://bucket/prefix',
      CHATD_STORE,
    )
    .option('--guess-limit <n>', 'wrong passwords allowed before the key is destroyed (default 10)')
    .option('--s3-endpoint <url>', 'S3 endpoint for s3:// stores (else AWS_ENDPOINT_URL)')
    .action(runEnable);
  backup
    .command('status')
    .description('mode, guesses left, wrong passwords, last backup, tampering warnings')
    .requiredOption(...device)
    .option('--json', 'machine-readable output (sizes in bytes)')
    .action(runStatus);
  backup
    .command('password')
    .description('change the backup password (this device holds the key)')
    .requiredOption(...device)
    .option(...passwordStdin)
    .action((options: { device: string } & PasswordSource) =>
      withSession(options.device, async (session) => {
        await session.changePassword(await readNewPassword(options, (p) => session.checkNewPassword(p)));
        process.stderr.write('password changed\n');
      }),
    );
  backup
    .command('disable')
    .description("delete the vault record and the account's backups; forget the key")
    .requiredOption(...device)
    .option('--yes', 'do not ask for confirmation on a terminal')
    .action((options: { device: string; yes?: boolean }) =>
      withSession(options.device, async (session) => {
        await confirmDisable(session, options.yes);
        const { deletedBackups } = await session.disable();
        process.stderr.write(`backup disabled: ${plural(deletedBackups, 'backup')} deleted\n`);
      }),
    );
}
