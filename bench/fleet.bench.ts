// Fleet benchmark (issue 5 "Speed"; docs/BENCHMARKS.md): recoveries per second and server-side
// p50/p99 latency with real `strongroom vault node` processes over a real 3-member etcd cluster on
// this machine — 3 nodes, 5 nodes, and each with one region down — and a per-recovery CPU
// breakdown by process (nodes, etcd, the benchmark's clients) from /proc.
// Server-side latency = the time of each frame's HTTP exchange with a node (loopback included),
// summed per recovery: the client's KSF and OPAQUE client work are excluded.
// Reference in the same run: OPAQUE's server login alone (startLogin + finishLogin).

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as opaque from '@serenity-kit/opaque';
import { HttpVaultNode, VaultRelay } from '../src/chatd/vault-relay.ts';
import { VaultClient } from '../src/client/vault/client.ts';
import type { VaultTransport } from '../src/client/vault/transport.ts';
import { ProcessFleet, TEST_ARGON2ID } from '../test/fleet/fleet.ts';
import { EtcdCluster } from '../test/helpers/etcd-cluster.ts';
import { fixed, median, quantile } from './stats.ts';

const SEQUENTIAL = 40;
const CONCURRENCY = 16;
const PER_CLIENT = 10;
const PASSWORD = 'benchmark password';

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
}

interface Figures {
  readonly label: string;
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
  readonly cpu: { nodes: number; etcd: number; client: number };
}

async function measure(scenario: Scenario, etcd: EtcdCluster, run: number): Promise<Figures> {
  const regions = ['eu', 'us', 'ap'];
  const fleet = await ProcessFleet.start({
    nodes: scenario.nodes,
    regions,
    store: etcd.url(`bench-${run}`),
    maxGuesses: 255,
    nodeArgs: ['--peer-timeout', '2000'],
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
    const pids = {
      nodes: fleet.nodes.map((n) => n.pid),
      etcd: etcd.members.map((m) => m.process?.pid),
    };
    const before = {
      nodes: totalCpuMs(pids.nodes),
      etcd: totalCpuMs(pids.etcd),
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
    return {
      label: scenario.label,
      p50: median(latencies),
      p99: quantile(latencies, 0.99),
      perSecond: (total * 1000) / elapsed,
      cpu: {
        nodes: (totalCpuMs(pids.nodes) - before.nodes) / total,
        etcd: (totalCpuMs(pids.etcd) - before.etcd) / total,
        client: (clientCpu.user + clientCpu.system) / 1000 / total,
      },
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

export default async function (): Promise<string> {
  await opaque.ready;
  const reference = opaqueLoginReference();
  const scenarios: Scenario[] = [
    { label: '3 nodes (eu, us, ap)', nodes: 3 },
    { label: '3 nodes, region eu down (1 node)', nodes: 3, downRegion: 'eu' },
    { label: '5 nodes (eu ×2, us ×2, ap)', nodes: 5 },
    { label: '5 nodes, region eu down (2 nodes)', nodes: 5, downRegion: 'eu' },
  ];
  const etcd = await EtcdCluster.start(3);
  const figures: Figures[] = [];
  try {
    for (const [run, scenario] of scenarios.entries()) figures.push(await measure(scenario, etcd, run));
  } finally {
    await etcd.destroy();
  }
  const base = figures[0] as Figures;
  return [
    '## Fleet (issue 5)',
    '',
    `Node processes (\`strongroom vault node\`, software keystore, NVRAM file each) over a 3-member etcd cluster (Debian etcd 3.4, fsync on), loopback HTTP between nodes, clients through ChatD's relay in this process. Server-side = time in each frame's HTTP exchange with a node, summed per recovery (client KSF and OPAQUE client excluded; ${SEQUENTIAL} sequential recoveries). Throughput: ${CONCURRENCY} concurrent clients × ${PER_CLIENT} recoveries, each client on its own record. Everything shares this machine's cores.`,
    '',
    '| fleet | server p50 | server p99 | recoveries/s | vs 3 nodes | CPU ms/recovery: nodes | etcd | clients (bench) |',
    '|---|---|---|---|---|---|---|---|',
    ...figures.map(
      (f) =>
        `| ${f.label} | ${fixed(f.p50)} ms | ${fixed(f.p99)} ms | ${fixed(f.perSecond, 0)} | ${fixed(f.perSecond / base.perSecond)}× | ${fixed(f.cpu.nodes)} | ${fixed(f.cpu.etcd)} | ${fixed(f.cpu.client)} |`,
    ),
    '',
    `Reference: OPAQUE server login alone (startLogin + finishLogin) ${fixed(reference)} ms; server p50 with 3 nodes is ${fixed(base.p50 / reference, 1)}× that. Goals: ≥ 300 recoveries/s — ${base.perSecond >= 300 ? 'met' : 'NOT met'}; p50 ≤ 10 ms — ${base.p50 <= 10 ? 'met' : 'NOT met'}.`,
  ].join('\n');
}
