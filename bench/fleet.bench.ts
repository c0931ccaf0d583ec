// Fleet benchmark (docs/BENCHMARKS.md "Vault fleet"): recoveries per second and
// server-side p50/p99 latency with real `strongroom vault node` processes over a real 3-member etcd
// cluster on this machine — 3 nodes, 5 nodes, and each with one region down — and a per-recovery
// CPU breakdown by process (the coordinating node, the other nodes, etcd, the benchmark's clients)
// from /proc. Every scenario runs RUNS times (fresh fleet each time); the figures are medians.
// Server-side latency = the time of each frame's HTTP exchange with a node (loopback included),
// summed per recovery: the client's KSF and OPAQUE client work are excluded.
// etcd runs with its production Raft timers (100 ms heartbeat, 1000 ms election: etcd's defaults),
// not the tests' fast ones, with fsync on, and GOMAXPROCS=1 (its 3 members share 2 cores with the
// nodes). One extra row, labelled, puts etcd's data and the nodes' NVRAM files on tmpfs: an upper
// bound that shows what the disk's fsyncs cost. STRONGROOM_FLEET_SCENARIOS=0,2 runs only those rows.
// Reference in the same run: OPAQUE's server login alone (startLogin + finishLogin).

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as opaque from '@serenity-kit/opaque';
import { HttpVaultNode, VaultRelay } from '../src/chatd/vault-relay.ts';
import { VaultClient } from '../src/client/vault/client.ts';
import type { VaultTransport } from '../src/client/vault/transport.ts';
import { ProcessFleet, TEST_ARGON2ID } from '../test/fleet/fleet.ts';
import { EtcdCluster, type EtcdClusterOptions } from '../test/helpers/etcd-cluster.ts';
import { fixed, median, quantile } from './stats.ts';

const SEQUENTIAL = 40;
const CONCURRENCY = 16;
const PER_CLIENT = 8;
const PASSWORD = 'benchmark password';
/** Runs per scenario (a fresh fleet each); STRONGROOM_BENCH_RUNS overrides. */
const RUNS = Number(process.env.STRONGROOM_BENCH_RUNS ?? 3);
/**
 * etcd's own Raft timers, as a production cluster on a LAN runs them, and one Go thread per member:
 * here 3 members share 2 cores with the nodes and the load generator.
 */
const PRODUCTION_RAFT: EtcdClusterOptions = { heartbeatMs: 100, electionMs: 1000, goMaxProcs: 1 };
/** tmpfs: fsync is free there, so a run on it shows what the disk costs. */
const TMPFS = '/dev/shm';

/** User + system CPU milliseconds a process has used so far (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

function totalCpuMs(pids: readonly (number | undefined)[]): number {
  let total = 0;
  for (const pid of pids) total += cpuMs(pid);
  return total;
}

/** A relay transport that adds up the time spent in exchanges with the nodes. */
class TimedTransport implements VaultTransport {
  ms = 0;
  constructor(private readonly inner: VaultTransport) {}
  async exchange(frame: Uint8Array): Promise<Uint8Array> {
    const started = performance.now();
    try {
      return await this.inner.exchange(frame);
    } finally {
      this.ms += performance.now() - started;
    }
  }
}

interface Scenario {
  readonly label: string;
  readonly nodes: number;
  readonly downRegion?: string;
  /** Fleet files (NVRAM) on tmpfs, against an etcd cluster on tmpfs: no fsync reaches the disk. */
  readonly tmpfs?: boolean;
}

/** CPU milliseconds per recovery, by process group. */
interface Cpu {
  /** The node ChatD's relay prefers (its region's first node): it coordinates every recovery. */
  readonly coordinator: number;
  /** Every other running node, summed. */
  readonly others: number;
  /** The etcd member that led during the throughput phase, and the two others summed. */
  readonly etcdLeader: number;
  readonly etcdFollowers: number;
  /** This process: clients (OPAQUE, HPKE) and ChatD's relay. */
  readonly client: number;
}

interface Figures {
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
  readonly cpu: Cpu;
  /** etcd calls per recovery (every member's gRPC Range and Txn, from etcd's own metrics). */
  readonly reads: number;
  readonly writes: number;
}

/** etcd's own counters of one member: whether it leads, and the Range and Txn calls it served. */
async function etcdCounters(port: number): Promise<{ leader: boolean; reads: number; writes: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counters = { leader: false, reads: 0, writes: 0 };
  for (const line of text.split('\n')) {
    const value = Number(line.split(' ').at(-1));
    if (line.startsWith('etcd_server_is_leader ')) counters.leader = value === 1;
    else if (/^grpc_server_handled_total\{.*grpc_method="Range"/.test(line)) counters.reads += value;
    else if (/^grpc_server_handled_total\{.*grpc_method="Txn"/.test(line)) counters.writes += value;
  }
  return counters;
}

const allCounters = (etcd: EtcdCluster) => Promise.all(etcd.members.map((m) => etcdCounters(m.clientPort)));

async function measure(scenario: Scenario, etcd: EtcdCluster, run: number): Promise<Figures> {
  const regions = ['eu', 'us', 'ap'];
  const fleet = await ProcessFleet.start({
    nodes: scenario.nodes,
    regions,
    store: etcd.url(`bench-${run}`),
    maxGuesses: 255,
    nodeArgs: ['--peer-timeout', '2000'],
    dataRoot: scenario.tmpfs ? TMPFS : undefined,
    startTimeoutMs: 90_000,
  });
  try {
    const live = scenario.downRegion === undefined ? 'eu' : 'us';
    if (scenario.downRegion !== undefined) {
      await Promise.all(
        fleet.publicInfo.members
          .filter((m) => m.region === scenario.downRegion)
          .map((m) => fleet.nodes[m.index]?.kill()),
      );
    }
    const newClient = () => {
      const relay = new VaultRelay(
        fleet.publicInfo.members.map(
          (m) => new HttpVaultNode(m.name, m.region, `${fleet.nodes[m.index]?.url}/v1/vault`),
        ),
        { localRegion: live, backoffMs: 60_000 },
      );
      const transport = new TimedTransport(relay);
      return {
        transport,
        client: new VaultClient({ fleet: fleet.publicInfo, transport, argon2id: TEST_ARGON2ID }),
      };
    };
    const key = new Uint8Array(randomBytes(32));

    // Latency: one client, sequential recoveries, server time per recovery.
    const single = newClient();
    const recordId = new Uint8Array(randomBytes(16));
    await single.client.enable(recordId, PASSWORD, key, 255);
    for (let i = 0; i < 5; i++) await single.client.recover(recordId, PASSWORD);
    const latencies: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      single.transport.ms = 0;
      await single.client.recover(recordId, PASSWORD);
      latencies.push(single.transport.ms);
    }

    // Throughput: concurrent clients, each on its own record.
    const clients = await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        const c = newClient();
        const id = new Uint8Array(randomBytes(16));
        await c.client.enable(id, PASSWORD, key, 255);
        return { ...c, id };
      }),
    );
    const coordinator = fleet.publicInfo.members.find((m) => m.region === live)?.index ?? 0;
    const pids = {
      coordinator: [fleet.nodes[coordinator]?.pid],
      others: fleet.nodes.filter((_, index) => index !== coordinator).map((n) => n.pid),
      etcd: etcd.members.map((m) => m.process?.pid),
    };
    const counted = await allCounters(etcd);
    const before = {
      coordinator: totalCpuMs(pids.coordinator),
      others: totalCpuMs(pids.others),
      etcd: pids.etcd.map(cpuMs),
      client: process.cpuUsage(),
    };
    const started = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < PER_CLIENT; i++) await c.client.recover(c.id, PASSWORD);
      }),
    );
    const elapsed = performance.now() - started;
    const total = CONCURRENCY * PER_CLIENT;
    const clientCpu = process.cpuUsage(before.client);
    const etcdCpu = pids.etcd.map((pid, index) => cpuMs(pid) - (before.etcd[index] ?? 0));
    const countedAfter = await allCounters(etcd);
    const leader = countedAfter.findIndex((member) => member.leader);
    const calls = (pick: 'reads' | 'writes') =>
      countedAfter.reduce((sum, member, index) => sum + member[pick] - (counted[index]?.[pick] ?? 0), 0) /
      total;
    return {
      p50: median(latencies),
      p99: quantile(latencies, 0.99),
      perSecond: (total * 1000) / elapsed,
      cpu: {
        coordinator: (totalCpuMs(pids.coordinator) - before.coordinator) / total,
        others: (totalCpuMs(pids.others) - before.others) / total,
        etcdLeader: (etcdCpu[leader] ?? 0) / total,
        etcdFollowers: etcdCpu.reduce((sum, ms, index) => sum + (index === leader ? 0 : ms), 0) / total,
        client: (clientCpu.user + clientCpu.system) / 1000 / total,
      },
      reads: calls('reads'),
      writes: calls('writes'),
    };
  } finally {
    await fleet.close();
  }
}

function opaqueLoginReference(): number {
  const setup = opaque.server.createSetup();
  const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
    password: PASSWORD,
  });
  const { registrationResponse } = opaque.server.createRegistrationResponse({
    serverSetup: setup,
    userIdentifier: 'u',
    registrationRequest,
  });
  const { registrationRecord } = opaque.client.finishRegistration({
    clientRegistrationState,
    registrationResponse,
    password: PASSWORD,
    keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
  });
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password: PASSWORD });
    const t0 = performance.now();
    const { serverLoginState, loginResponse } = opaque.server.startLogin({
      serverSetup: setup,
      userIdentifier: 'u',
      registrationRecord,
      startLoginRequest,
    });
    const serverStart = performance.now() - t0;
    const finished = opaque.client.finishLogin({
      clientLoginState,
      loginResponse,
      password: PASSWORD,
      keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
    });
    const t1 = performance.now();
    opaque.server.finishLogin({ serverLoginState, finishLoginRequest: finished?.finishLoginRequest ?? '' });
    times.push(serverStart + performance.now() - t1);
  }
  return median(times);
}

/** The median of each figure over runs (each figure separately). */
function medianFigures(runs: readonly Figures[]): Figures {
  const of = (pick: (f: Figures) => number) => median(runs.map(pick));
  return {
    p50: of((f) => f.p50),
    p99: of((f) => f.p99),
    perSecond: of((f) => f.perSecond),
    cpu: {
      coordinator: of((f) => f.cpu.coordinator),
      others: of((f) => f.cpu.others),
      etcdLeader: of((f) => f.cpu.etcdLeader),
      etcdFollowers: of((f) => f.cpu.etcdFollowers),
      client: of((f) => f.cpu.client),
    },
    reads: of((f) => f.reads),
    writes: of((f) => f.writes),
  };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

export default async function (): Promise<string> {
  await opaque.ready;
  const reference = opaqueLoginReference();
  const scenarios: Scenario[] = [
    { label: '3 nodes (eu, us, ap)', nodes: 3 },
    { label: '3 nodes, region eu down (1 node)', nodes: 3, downRegion: 'eu' },
    { label: '5 nodes (eu ×2, us ×2, ap)', nodes: 5 },
    { label: '5 nodes, region eu down (2 nodes)', nodes: 5, downRegion: 'eu' },
  ];
  if (existsSync(TMPFS))
    scenarios.push({
      label: '3 nodes, **no fsync** (etcd + NVRAM on tmpfs): upper bound',
      nodes: 3,
      tmpfs: true,
    });
  const only = process.env.STRONGROOM_FLEET_SCENARIOS?.split(',').map(Number);
  if (only !== undefined)
    scenarios.splice(0, scenarios.length, ...scenarios.filter((_, i) => only.includes(i)));
  const loadBefore = load();
  const started = new Date().toISOString();
  const runs = new Map<Scenario, Figures[]>(scenarios.map((scenario) => [scenario, []]));
  const disk = await EtcdCluster.start(3, PRODUCTION_RAFT);
  try {
    // Rounds interleave the scenarios, so a change in the machine's load spreads over all of them.
    let prefix = 0;
    for (let round = 0; round < RUNS; round++) {
      for (const scenario of scenarios) {
        // The tmpfs cluster runs only for its own rows, so its heartbeats load no other row.
        const memory = scenario.tmpfs
          ? await EtcdCluster.start(3, { ...PRODUCTION_RAFT, dataRoot: TMPFS })
          : undefined;
        try {
          const figures = await measure(scenario, memory ?? disk, prefix++);
          runs.get(scenario)?.push(figures);
          process.stderr.write(
            `fleet bench run ${round + 1}/${RUNS} ${scenario.label}: p50 ${fixed(figures.p50, 1)} ms, ${fixed(figures.perSecond, 1)}/s\n`,
          );
        } finally {
          await memory?.destroy();
        }
      }
    }
  } finally {
    await disk.destroy();
  }
  const medians = scenarios.map((scenario) => ({ scenario, f: medianFigures(runs.get(scenario) ?? []) }));
  const base = medians[0]?.f as Figures;
  const cpuTotal = (c: Cpu) => c.coordinator + c.others + c.etcdLeader + c.etcdFollowers;
  return [
    '## Vault fleet',
    '',
    `Node processes (\`strongroom vault node\`, software keystore, NVRAM file each) over a 3-member etcd cluster (Debian etcd 3.4, fsync on, production Raft timers 100/1000 ms, GOMAXPROCS=1), loopback HTTP between nodes, clients through ChatD's relay in this process (region eu preferred, so the first eu node coordinates every recovery; us when eu is down). Server-side = time in each frame's HTTP exchange with a node, summed per recovery (client KSF and OPAQUE client excluded; ${SEQUENTIAL} sequential recoveries after 5 warm-up ones). Throughput: ${CONCURRENCY} concurrent clients × ${PER_CLIENT} recoveries, each client on its own record. CPU from /proc (user + system) over the throughput phase. Medians of ${RUNS} runs per row (fresh fleet per run, rounds interleaved). Everything, the load generator included, shares this machine's cores. Started ${started}; load average (1/5/15 min) ${loadBefore} before, ${load()} after.`,
    '',
    '| fleet | server p50 | server p99 | recoveries/s | vs 3 nodes | CPU ms/recovery: coordinator node | other nodes | etcd leader + followers | servers total | clients + relay (bench) | etcd reads + writes /recovery |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...medians.map(
      ({ scenario, f }) =>
        `| ${scenario.label} | ${fixed(f.p50, 1)} ms | ${fixed(f.p99, 1)} ms | ${fixed(f.perSecond, 1)} | ${fixed(f.perSecond / base.perSecond)}× | ${fixed(f.cpu.coordinator, 1)} | ${fixed(f.cpu.others, 1)} | ${fixed(f.cpu.etcdLeader, 1)} + ${fixed(f.cpu.etcdFollowers, 1)} | ${fixed(cpuTotal(f.cpu), 1)} | ${fixed(f.cpu.client, 1)} | ${fixed(f.reads, 1)} + ${fixed(f.writes, 1)} |`,
    ),
    '',
    `The load generator (clients' OPAQUE, Argon2id at test size and HPKE, and ChatD's relay) used ${fixed((base.cpu.client * base.perSecond) / 10, 0)} % of one core during the 3-node throughput phase (${fixed(base.cpu.client, 1)} ms per recovery × ${fixed(base.perSecond, 1)}/s), of the machine's 200 %.`,
    '',
    `Reference: OPAQUE server login alone (startLogin + finishLogin) ${fixed(reference)} ms; server p50 with 3 nodes is ${fixed(base.p50 / reference, 1)}× that. Goals: ≥ 300 recoveries/s — ${base.perSecond >= 300 ? 'met' : 'NOT met'}; p50 ≤ 10 ms — ${base.p50 <= 10 ? 'met' : 'NOT met'}.`,
  ].join('\n');
}
