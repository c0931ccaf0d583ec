// End-to-end harness: the real `strongroom server` process and real CLI processes (from source,
// through tsx), talking over loopback sockets. The server's stdout is watched for the `listening on`
// line and the development sender's `code USER CODE` lines.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CliResult, runCli } from '../helpers/cli.ts';

const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** Small Argon2id for the CLI's OPAQUE (tests only; the real parameters are checked by VAULT's tests). */
export const TEST_ENV = { STRONGROOM_TEST_ARGON2ID: '1024,1,1' };

export class ServerProcess {
  private stdout = '';
  /** The tail of the server's log, for failure messages. */
  stderr = '';
  private waiters: Array<() => void> = [];
  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
  ) {
    child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString('utf8');
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-4000);
    });
  }

  static async start(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        mainTs,
        'server',
        '--data',
        dataDir,
        '--listen',
        '127.0.0.1:0',
        '--dev-codes',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new ServerProcess(child, dataDir);
    await server.waitFor(/^listening on (\S+)$/m);
    return server;
  }

  get url(): string {
    return /^listening on (\S+)$/m.exec(this.stdout)![1]!;
  }

  get output(): string {
    return this.stdout;
  }

  /** Resolves with the first match of `pattern` in the server's stdout (waiting up to 60 s: the machine may be busy). */
  async waitFor(pattern: RegExp, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const match = pattern.exec(this.stdout.slice(from));
      if (match) return match;
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`server never printed ${pattern}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** Sends `signal` and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill(signal);
    return exited;
  }
}

/** `strongroom account join`, typing the code the server prints (as a user reading an SMS would). */
export async function joinDevice(
  server: ServerProcess,
  user: string,
  deviceDir: string,
  typeCode: (code: string) => string = (code) => code,
): Promise<CliResult> {
  const from = server.output.length;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      mainTs,
      'account',
      'join',
      '--server',
      server.url,
      '--fleet-key',
      `${server.dataDir}/fleet.pub`,
      '--user',
      user,
      '--device',
      deviceDir,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const closed = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const escaped = user.replace(/[.+]/g, '\\$&');
  // A join refused before any code is sent (a rate limit, a dead server) ends the command: that is
  // the failure to report, with what it printed, not a wait for a code that never comes.
  const match = await Promise.race([
    server.waitFor(new RegExp(`^code ${escaped} (\\d+)$`, 'm'), from),
    closed.then((code) => {
      throw new Error(
        `account join exited ${code} before the server printed a code:\n${Buffer.concat(err).toString()}`,
      );
    }),
  ]);
  child.stdin.end(`${typeCode(match[1]!)}\n`);
  const code = await closed;
  const stdoutBytes = Buffer.concat(out);
  return { code, stdout: stdoutBytes.toString(), stderr: Buffer.concat(err).toString(), stdoutBytes };
}

/** Runs a CLI command with the test Argon2id parameters. */
export function cli(args: string[], input?: string): Promise<CliResult> {
  return runCli(args, { input, env: TEST_ENV });
}
