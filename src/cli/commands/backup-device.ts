// Device-mode backup commands (issue 4 "CLI"; DESIGN sections 2, 3, 5): `backup enable | status |
// password | disable --device DIR`, and the `--device DIR` forms of `backup create | list |
// restore`, which src/cli/commands/backup.ts hands over to here. Everything goes through the
// device's ChatD session (src/client/node/chatd-session.ts); exit codes are src/errors.ts's.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatBytes } from '../../client/format-bytes.ts';
import { CHATD_STORE, DeviceDir } from '../../client/node/chatd-device.ts';
import type { DeviceSession, SessionOptions } from '../../client/node/chatd-session.ts';
import type { Argon2idParameters } from '../../client/vault/client.ts';
import { UsageError } from '../../errors.ts';
import { BackupKey } from '../../format/key.ts';
import { createProgress } from '../progress.ts';
import { readLine } from './account.ts';
import { reportProblems } from './backup-problems.ts';

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

async function withSession<T>(
  dir: string,
  work: (session: DeviceSession) => Promise<T>,
  s3Endpoint?: string,
): Promise<T> {
  const options: SessionOptions = { argon2id: argon2idFromEnv(), s3Endpoint };
  // Loaded here, not at the top: `backup create --to DIR` would otherwise load ChatD's client and
  // the vault client (~23 MiB) for nothing.
  const { DeviceSession } = await import('../../client/node/chatd-session.ts');
  const session = await DeviceSession.open(DeviceDir.open(dir), options);
  try {
    return await work(session);
  } finally {
    session.close();
  }
}

async function readPassword(): Promise<string> {
  const password = await readLine('password: ');
  if (password.length === 0) throw new UsageError('the password read from stdin is empty');
  return password;
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
  if (Boolean(options.passwordStdin) === Boolean(options.manualKey)) {
    throw new UsageError('give exactly one of --password-stdin and --manual-key');
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
      const summary = await session.enablePassword(await readPassword(), { store, limit });
      process.stderr.write(
        `password backup enabled: the vault allows ${summary.limit} wrong guesses before the key is destroyed\n`,
      );
    },
    options.s3Endpoint,
  );
}

export async function runDeviceCreate(
  paths: string[],
  options: { device: string; compress?: boolean; s3Endpoint?: string },
) {
  await withSession(
    options.device,
    async (session) => {
      const progress = createProgress('backup');
      try {
        const result = await session.createBackup(paths, {
          compress: options.compress,
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.stop();
        process.stdout.write(`${result.id}\n`);
        reportProblems(result);
      } finally {
        progress.stop();
      }
    },
    options.s3Endpoint,
  );
}

export async function runDeviceList(options: { device: string }): Promise<void> {
  await withSession(options.device, async (session) => {
    const entries = await session.listBackups();
    if (entries.length === 0) process.stderr.write('the account has no backups\n');
    for (const e of entries) {
      const created = new Date(Number(e.createdAtMs))
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, ' UTC');
      process.stdout.write(
        `${e.id}  ${formatBytes(Number(e.size)).padStart(10)}  ${created}  ${e.location}\n`,
      );
    }
  });
}

export interface DeviceRestoreOptions {
  device: string;
  to: string;
  id?: string;
  passwordStdin?: boolean;
  keyFile?: string;
  force?: boolean;
  s3Endpoint?: string;
}

export async function runDeviceRestore(options: DeviceRestoreOptions): Promise<void> {
  if (options.passwordStdin && options.keyFile !== undefined)
    throw new UsageError('give --password-stdin or --key-file, not both');
  const key =
    options.keyFile === undefined ? undefined : BackupKey.parse(await readFile(options.keyFile, 'utf8'));
  await withSession(
    options.device,
    async (session) => {
      const password = options.passwordStdin ? await readPassword() : undefined;
      const progress = createProgress('restore');
      try {
        const result = await session.restore({
          to: options.to,
          id: options.id,
          password,
          key,
          force: options.force,
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.stop();
        if (result.recovery !== undefined) {
          const {
            failedGuessesSinceLastSuccess: failed,
            newFailedGuesses,
            guessesLeft,
            limit,
          } = result.recovery;
          process.stderr.write(
            `${failed} failed attempt${failed === 1 ? '' : 's'} to open your backup since the last successful restore (${guessesLeft} of ${limit} guesses left)\n`,
          );
          if (newFailedGuesses > 0) {
            process.stderr.write(
              `warning: ${newFailedGuesses} of them since this device last restored; if they were not yours, change the password (backup password)\n`,
            );
          }
        }
        process.stderr.write(
          `restored backup ${result.id}: ${result.entries} entries, ${formatBytes(result.contentBytes)} into ${options.to}\n`,
        );
      } finally {
        progress.stop();
      }
    },
    options.s3Endpoint,
  );
  key?.destroy();
}

async function runStatus(options: { device: string; json?: boolean }): Promise<void> {
  await withSession(options.device, async (session) => {
    const status = await session.status();
    if (options.json) {
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return;
    }
    const lines = [
      `account: ${status.user} at ${status.server}`,
      `mode: ${status.mode}`,
      `store: ${status.store}`,
    ];
    if (status.vault) {
      lines.push(`vault record: ${status.vault.status}`);
      lines.push(`guesses left: ${status.vault.guessesLeft} of ${status.vault.limit}`);
      lines.push(`failed guesses since the last success: ${status.vault.failedGuesses}`);
    }
    if (status.noRecord) lines.push('vault record: none');
    lines.push(
      status.lastBackup
        ? `last backup: ${status.lastBackup.id} (${formatBytes(status.lastBackup.size)})`
        : 'last backup: none',
    );
    process.stdout.write(`${lines.join('\n')}\n`);
    if (status.tampering) process.stderr.write(`warning: possible tampering: ${status.tampering}\n`);
  });
}

/** Adds the device-only subcommands to the `backup` command that backup.ts made. */
export function registerDeviceBackup(backup: Command): void {
  const device = ['--device <dir>', "this device's state directory (see `account join`)"] as const;
  backup
    .command('enable')
    .description('turn on backup for this device: password mode (vault) or a manual 64-digit key')
    .requiredOption(...device)
    .option('--password-stdin', 'read the backup password from stdin')
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
    .description('mode, guesses left, failed guesses, last backup, tampering warnings')
    .requiredOption(...device)
    .option('--json', 'machine-readable output')
    .action(runStatus);
  backup
    .command('password')
    .description('change the backup password (this device holds the key)')
    .requiredOption(...device)
    .requiredOption('--password-stdin', 'read the new password from stdin')
    .action((options: { device: string }) =>
      withSession(options.device, async (session) => {
        await session.changePassword(await readPassword());
        process.stderr.write('password changed\n');
      }),
    );
  backup
    .command('disable')
    .description("delete the vault record and the account's backups; forget the key")
    .requiredOption(...device)
    .action((options: { device: string }) =>
      withSession(options.device, async (session) => {
        const { deletedBackups } = await session.disable();
        process.stderr.write(
          `backup disabled: ${deletedBackups} backup${deletedBackups === 1 ? '' : 's'} deleted\n`,
        );
      }),
    );
}
