// Vault node processes for whole-fleet tests (docs/ARCHITECTURE.md "Processes and deployment"): each node is the real
// `strongroom vault node --config FILE` command in its own process, started, killed with -9 and
// restarted by the tests. Every process is killed when the test process exits, whatever happened.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One JSON log line the node wrote (pino): `event` names what happened. */
export interface NodeLogLine {
  readonly event?: string;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

export class NodeProcess {
  #child: ChildProcess | undefined;
  /** Every log line since the first start, across restarts, for assertions on what was logged. */
  readonly log: NodeLogLine[] = [];
  /** The tail of what the process wrote to stderr: its log, and start-up failures. */
  stderr = '';
  /** The node's base URL once it listens. */
  url = '';

  constructor(
    readonly name: string,
    readonly args: readonly string[],
    readonly env: Record<string, string | undefined> = {},
    /** Node.js options before the script, e.g. --cpu-prof for a benchmark's profile. */
    readonly execArgv: readonly string[] = [],
  ) {}

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The running process's id (for CPU accounting in benchmarks). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the node and resolves once it logs that it listens; rejects if it exits first. */
  start(timeoutMs = 15_000): Promise<void> {
    if (this.#child) throw new Error(`${this.name} is already running`);
    const child = spawn(
      process.execPath,
      [...this.execArgv, '--import', 'tsx', mainTs, 'vault', 'node', ...this.args],
      {
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.#child = child;
    running.add(child);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8000);
    });
    child.stdout?.resume();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name} did not start:\n${this.stderr}`)),
        timeoutMs,
      );
      // The node logs JSON lines on stderr (docs/OPERATIONS.md "Logs").
      createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (text) => {
        let line: NodeLogLine;
        try {
          line = JSON.parse(text) as NodeLogLine;
        } catch {
          line = { msg: text };
        }
        this.log.push(line);
        if (line.event === 'listening' && typeof line.url === 'string') {
          this.url = line.url;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        running.delete(child);
        if (this.#child === child) this.#child = undefined;
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before listening:\n${this.stderr}`));
      });
    });
  }

  /** SIGKILL: the process gets no chance to finish anything (a crash, a lost region). */
  kill(): Promise<void> {
    return this.#signal('SIGKILL');
  }

  /** SIGSTOP: the process stays, its connections stay open, and it answers nothing (a stalled node). */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** SIGTERM: a graceful stop. */
  stop(): Promise<void> {
    return this.#signal('SIGTERM');
  }

  /** Log lines whose event is `event`. */
  events(event: string): NodeLogLine[] {
    return this.log.filter((line) => line.event === event);
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}
