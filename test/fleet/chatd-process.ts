// One `strongroom chatd` process for the fleet tests (chatd-regions.test.ts,
// chatd-shared-state.test.ts, chatd-shared-races.test.ts): started on a config file (and flags)
// with development join codes on stdout,
// its JSON log parsed, stopped cleanly or killed.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';

const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One `strongroom chatd --config FILE --dev-codes` process: its stdout lines and its JSON log. */
export class ChatdProcess {
  private stdout = '';
  /** ChatD's pino log lines (stderr), parsed. */
  readonly log: Array<Record<string, unknown>> = [];
  private stderrTail = '';
  url = '';

  private constructor(private readonly child: ChildProcess) {
    running.add(child);
    child.once('exit', () => running.delete(child));
    child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
    });
    let partial = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.log.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.log.push({ msg: line });
        }
      }
    });
  }

  /**
   * Starts ChatD on `configPath` and `args` (more flags); `env` is added to this process's
   * environment (S3 credentials).
   */
  static async start(
    configPath: string,
    env: Record<string, string> = {},
    args: readonly string[] = [],
  ): Promise<ChatdProcess> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', mainTs, 'chatd', '--config', configPath, '--dev-codes', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    const chatd = new ChatdProcess(child);
    chatd.url = (await chatd.waitFor(/^listening on (\S+)$/m))[1]!;
    return chatd;
  }

  /** The first match of `pattern` in stdout after offset `from`, waiting up to 60 s. */
  async waitFor(pattern: RegExp, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const match = pattern.exec(this.stdout.slice(from));
      if (match) return match;
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`chatd never printed ${pattern}:\n${this.stderrTail}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A new device of `userId`, joined with the code this ChatD's development sender prints. */
  async joinDevice(userId: string, identity = DeviceIdentity.generate(userId)): Promise<ChatdClient> {
    const client = await this.connect(identity);
    const from = this.stdout.length;
    await client.requestJoinCode();
    const code = (await this.waitFor(new RegExp(`^code ${userId} (\\d+)$`, 'm'), from))[1]!;
    await client.submitJoinCode(code);
    return client;
  }

  /** A connection of `identity` (joined or not: Welcome says which). */
  connect(identity: DeviceIdentity): Promise<ChatdClient> {
    return ChatdClient.connect({ url: this.url, identity, openSocket: openNodeSocket });
  }

  /** ChatD's plain HTTP address (`/ready`, `/metrics`). */
  get httpUrl(): string {
    return this.url.replace(/^ws:/, 'http:').replace(/\/v1\/chatd$/, '');
  }

  /** Names of the vault nodes this ChatD logged as failed, in order. */
  failedNodes(): string[] {
    return this.log
      .filter((line) => line.msg === 'vault node failed; trying the next')
      .map((line) => String(line.node));
  }

  /** Kills the process abruptly (SIGKILL), as a crash or a lost region. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  /** Stops the process with SIGTERM; its exit code (null if it had been killed). */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill('SIGTERM');
    return exited;
  }
}
