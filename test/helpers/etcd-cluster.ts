// A real etcd cluster for tests (docs/ARCHITECTURE.md "Record store": etcd in production):
// members on free loopback ports in a temporary directory, started in parallel with short Raft
// timers so a cluster is healthy in a second or two. Tests stop, kill and restart members, take a
// snapshot and restore it into a fresh cluster (what an operator's rollback looks like).
// Teardown is reliable: destroy() in `after`, an exit hook, and a watchdog shell that kills the
// members and removes the directory if the test process itself dies (kill -9 included).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ETCD = process.env.STRONGROOM_ETCD ?? '/usr/bin/etcd';
const ETCDCTL = process.env.STRONGROOM_ETCDCTL ?? '/usr/bin/etcdctl';
const run = promisify(execFile);

/** Loopback ports the OS reports free (bound then released; a clash makes etcd exit loudly). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** The running process, undefined while stopped. */
  process?: ChildProcess;
  /** Last lines etcd wrote to stderr (shown when it fails to start). */
  log: string;
}

/**
 * Raft timers and where the data lives. The default timers (25 ms heartbeat, 250 ms election) keep
 * tests fast; a benchmark passes etcd's production defaults (100 ms / 1000 ms), with which an idle
 * cluster costs about a third of the CPU.
 */
export interface EtcdClusterOptions {
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  /**
   * Where the members' data directories go (default: the OS temporary directory). A benchmark's
   * labelled upper bound puts them on tmpfs (/dev/shm), where fsync costs nothing: etcd 3.4 has
   * no --unsafe-no-fsync.
   */
  readonly dataRoot?: string;
  /**
   * GOMAXPROCS for each member (default: Go's, one thread per core). A benchmark whose 3 members
   * share 2 cores with the nodes passes 1: fewer Go threads spinning for work that another
   * process's CPU time would have done (each production member has a machine of its own).
   */
  readonly goMaxProcs?: number;
}

const live = new Set<EtcdCluster>();
process.once('exit', () => {
  for (const cluster of live) cluster.killAllNow();
});

export class EtcdCluster {
  readonly #token: string;
  readonly #options: EtcdClusterOptions;
  #destroyed = false;

  private constructor(
    readonly dir: string,
    readonly members: EtcdMember[],
    token: string,
    options: EtcdClusterOptions,
  ) {
    this.#token = token;
    this.#options = options;
    live.add(this);
    startWatchdog(dir);
  }

  /** Starts a fresh cluster of `size` members and waits until every member is healthy. */
  static async start(size = 3, options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const cluster = await EtcdCluster.#layout(size, options);
    try {
      await Promise.all(cluster.members.map((_, i) => cluster.#spawn(i)));
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /**
   * A fresh cluster (new ports, new directory, new cluster token) whose every member is restored
   * from `snapshotFile` with `etcdctl snapshot restore`, as an operator restores a backup.
   */
  static async fromSnapshot(snapshotFile: string, size = 3): Promise<EtcdCluster> {
    const cluster = await EtcdCluster.#layout(size);
    try {
      for (const member of cluster.members) {
        await run(
          ETCDCTL,
          [
            'snapshot',
            'restore',
            snapshotFile,
            '--name',
            member.name,
            '--data-dir',
            member.dataDir,
            '--initial-cluster',
            cluster.#initialCluster(),
            '--initial-cluster-token',
            cluster.#token,
            '--initial-advertise-peer-urls',
            `http://127.0.0.1:${member.peerPort}`,
          ],
          { env: { ...process.env, ETCDCTL_API: '3' } },
        );
      }
      await Promise.all(cluster.members.map((_, i) => cluster.#spawn(i)));
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  static async #layout(size: number, options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(options.dataRoot ?? tmpdir(), 'strongroom-etcd-'));
    const ports = await freePorts(2 * size);
    const members = Array.from({ length: size }, (_, i) => ({
      name: `m${i}`,
      clientPort: ports[2 * i] as number,
      peerPort: ports[2 * i + 1] as number,
      dataDir: join(dir, `m${i}`),
      log: '',
    }));
    return new EtcdCluster(dir, members, `strongroom-test-${dir.slice(-6)}`, options);
  }

  /** Client endpoints as `127.0.0.1:port`, members in order. */
  endpoints(members: readonly number[] = this.members.map((_, i) => i)): string[] {
    return members.map((i) => `127.0.0.1:${this.#member(i).clientPort}`);
  }

  /** A store URL for openRecordStore: etcd://every-member[/prefix]. */
  url(prefix?: string): string {
    return `etcd://${this.endpoints().join(',')}${prefix === undefined ? '' : `/${prefix}`}`;
  }

  /** Stops member `i` gracefully (SIGTERM) and waits for it to exit. */
  async stop(i: number): Promise<void> {
    await this.#signal(i, 'SIGTERM');
  }

  /** Kills member `i` abruptly (SIGKILL), as a crash or a lost region. */
  async kill(i: number): Promise<void> {
    await this.#signal(i, 'SIGKILL');
  }

  /** Starts a stopped member again on its old data and waits until it is healthy. */
  async restart(i: number): Promise<void> {
    if (this.#member(i).process !== undefined) throw new Error(`member ${i} is running`);
    await this.#spawn(i);
    await this.waitHealthy([i]);
  }

  /** Waits until each listed member reports healthy (it has a leader and serves reads). */
  async waitHealthy(members: readonly number[] = this.members.map((_, i) => i), timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (const i of members) {
      while (!(await this.isHealthy(i))) {
        const member = this.#member(i);
        if (member.process === undefined) throw new Error(`etcd ${member.name} exited:\n${member.log}`);
        if (Date.now() > deadline) throw new Error(`etcd ${member.name} not healthy:\n${member.log}`);
        await sleep(25);
      }
    }
  }

  /** Whether member `i` answers /health with true (false without a leader or when down). */
  async isHealthy(i: number): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.#member(i).clientPort}/health`, {
        signal: AbortSignal.timeout(1000),
      });
      const body = (await response.json()) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  }

  /**
   * The index of the member that is the Raft leader now, asked through etcd's JSON gateway
   * (`/v3/maintenance/status`: a member is the leader when its own id is the leader it names);
   * undefined while no running member says it leads.
   */
  async leader(): Promise<number | undefined> {
    for (const [i, member] of this.members.entries()) {
      if (member.process === undefined) continue;
      try {
        const status = (await this.#gateway(i, 'maintenance/status', {})) as {
          header?: { member_id?: string };
          leader?: string;
        };
        if (status.leader !== undefined && status.leader === status.header?.member_id) return i;
      } catch {
        // a member that does not answer is not the leader we can name
      }
    }
    return undefined;
  }

  /**
   * Every value `key` has held, oldest first, with the revision that wrote it (etcd keeps the
   * whole history: these clusters never compact). Walks back from the current value, one
   * revision-pinned read per version, through a running member's JSON gateway.
   */
  async history(key: Uint8Array): Promise<{ modRevision: bigint; value: Uint8Array }[]> {
    const member = this.members.findIndex((m) => m.process !== undefined);
    if (member === -1) throw new Error('no running member to read the history from');
    const values: { modRevision: bigint; value: Uint8Array }[] = [];
    let revision: bigint | undefined;
    for (;;) {
      const answer = (await this.#gateway(member, 'kv/range', {
        key: Buffer.from(key).toString('base64'),
        ...(revision === undefined ? {} : { revision: revision.toString() }),
      })) as { kvs?: { mod_revision?: string; value?: string }[] };
      const kv = answer.kvs?.[0];
      if (kv?.mod_revision === undefined) return values.reverse();
      const modRevision = BigInt(kv.mod_revision);
      values.push({ modRevision, value: new Uint8Array(Buffer.from(kv.value ?? '', 'base64')) });
      if (modRevision <= 1n) return values.reverse();
      revision = modRevision - 1n;
    }
  }

  async #gateway(i: number, path: string, body: unknown): Promise<unknown> {
    const response = await fetch(`http://127.0.0.1:${this.#member(i).clientPort}/v3/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`etcd gateway ${path}: HTTP ${response.status}`);
    return response.json();
  }

  /** Saves a snapshot of the keyspace from a healthy member (`etcdctl snapshot save`). */
  async snapshot(file: string): Promise<void> {
    const member = this.members.findIndex((m) => m.process !== undefined);
    if (member === -1) throw new Error('no running member to snapshot');
    await run(ETCDCTL, ['--endpoints', this.endpoints([member]).join(','), 'snapshot', 'save', file], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
  }

  /** Kills every member and removes the directory. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all(this.members.map((m, i) => (m.process ? this.kill(i) : undefined)));
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort for the exit hook: SIGKILL every member still running. */
  killAllNow(): void {
    for (const member of this.members) member.process?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  #member(i: number): EtcdMember {
    const member = this.members[i];
    if (member === undefined) throw new Error(`no member ${i}`);
    return member;
  }

  #initialCluster(): string {
    return this.members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  }

  async #spawn(i: number): Promise<void> {
    const member = this.#member(i);
    const child = spawn(
      ETCD,
      [
        '--name',
        member.name,
        '--data-dir',
        member.dataDir,
        '--listen-client-urls',
        `http://127.0.0.1:${member.clientPort}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${member.clientPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${member.peerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${member.peerPort}`,
        '--initial-cluster',
        this.#initialCluster(),
        '--initial-cluster-token',
        this.#token,
        '--initial-cluster-state',
        'new',
        // Loopback Raft timers: an election in a fraction of a second keeps tests fast.
        '--heartbeat-interval',
        String(this.#options.heartbeatMs ?? 25),
        '--election-timeout',
        String(this.#options.electionMs ?? 250),
        '--logger',
        'zap',
        '--log-level',
        'warn',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env:
          this.#options.goMaxProcs === undefined
            ? process.env
            : { ...process.env, GOMAXPROCS: String(this.#options.goMaxProcs) },
      },
    );
    member.process = child;
    member.log = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      member.log = (member.log + chunk.toString()).slice(-4000);
    });
    const pidFile = join(this.dir, `${member.name}.pid`);
    writeFileSync(pidFile, String(child.pid));
    child.once('exit', () => {
      if (member.process === child) member.process = undefined;
      unlink(pidFile).catch(() => undefined);
    });
  }

  async #signal(i: number, signal: NodeJS.Signals): Promise<void> {
    const member = this.#member(i);
    const child = member.process;
    if (child === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

/**
 * A detached shell that outlives a test process killed with -9: once the parent is gone it kills
 * the members listed in the directory's pid files and removes the directory.
 */
function startWatchdog(dir: string): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
for f in "$0"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
rm -rf "$0"`;
  const watchdog = spawn('/bin/sh', ['-c', script, dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
