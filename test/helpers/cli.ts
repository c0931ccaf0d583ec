// Runs the real CLI in a child process (from source through tsx, so tests need no build step) and
// captures its exit code, stdout and stderr: CLI behaviour is tested as commands with expected exit
// codes and messages (README "Exit codes").
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, watch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number;
  /** The signal that ended the process, if one did (SIGKILL; the CLI exits on SIGINT and SIGTERM). */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Run as this user and group (the tests run as root; an unprivileged run needs both). */
  uid?: number;
  gid?: number;
}

/**
 * Starts the CLI and leaves its stdin open, for a test that feeds it or signals it mid-run;
 * `result` settles once it has exited and its output is read.
 */
export function startCli(
  args: string[],
  options: CliOptions = {},
): { child: ChildProcessWithoutNullStreams; result: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs, ...args], {
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    env: { ...process.env, STRONGROOM_KEY: undefined, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code: code ?? -1,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBytes,
      });
    });
  });
  // A child that exits before reading all its input closes the pipe; that is not the test's failure.
  child.stdin.on('error', () => {});
  return { child, result };
}

export function runCli(
  args: string[],
  options: CliOptions & { input?: string | Uint8Array } = {},
): Promise<CliResult> {
  const { child, result } = startCli(args, options);
  child.stdin.end(options.input ?? '');
  return result;
}

/**
 * Stops `child` (SIGSTOP) the moment a pack appears in the directory repository `repo`, and resolves
 * then: the run is mid-upload whatever the speed of the machine, where polling could miss a run that
 * stores its last packs and its snapshot between two polls. The caller sends its signal next (a
 * stopped process is killed by SIGKILL; SIGINT and SIGTERM act once it gets SIGCONT).
 */
export async function stopAtFirstPack(child: ChildProcessWithoutNullStreams, repo: string): Promise<void> {
  await mkdir(repo, { recursive: true });
  const hasPack = () => readdirSync(repo).some((name) => name.startsWith('repo.pack.'));
  await new Promise<void>((resolve, reject) => {
    const watcher = watch(repo, () => {
      if (!hasPack()) return;
      child.kill('SIGSTOP');
      watcher.close();
      resolve();
    });
    child.once('exit', () => {
      watcher.close();
      reject(new Error('the run ended before its first pack was stored'));
    });
    if (hasPack()) {
      child.kill('SIGSTOP');
      watcher.close();
      resolve();
    }
  });
}
