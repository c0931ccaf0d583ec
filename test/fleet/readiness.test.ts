// Liveness and readiness of real server processes (docs/OPERATIONS.md "Health and readiness"):
// three `strongroom vault node` processes over a real 3-member etcd cluster and one
// `strongroom chatd` process in front of them. Killing a majority of etcd members makes every node
// answer GET /ready with 503 and says the record store does not answer, while GET /health stays
// 200; killing two of the nodes leaves the third without a quorum of peers. ChatD is not ready
// while no node is, and the survivor counts the request it could not serve as a quorum failure.
// Bringing the members or nodes back makes all of them ready again.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnavailableError } from '../../src/errors.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { ChatdProcess } from './chatd-process.ts';
import { ProcessFleet } from './fleet.ts';

/** Everything here waits on real processes on a busy machine: poll for a minute. */
const WAIT_MS = 60_000;

let etcd: EtcdCluster;
let fleet: ProcessFleet;
let chatd: ChatdProcess;
let chatdHttp: string;

before(async () => {
  etcd = await EtcdCluster.start(3);
  fleet = await ProcessFleet.start({
    store: etcd.url('readiness'),
    nodeArgs: ['--peer-timeout', '1000', '--store-timeout', '1000'],
    startTimeoutMs: 120_000,
  });
  const dir = join(fleet.dir, 'chatd');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'chatd.json'),
    JSON.stringify({
      format: 'strongroom-chatd/v1',
      listen: '127.0.0.1:0',
      region: fleet.publicInfo.members[0]?.region,
      dataDir: 'data',
      fleetPub: fleet.fleetPubPath,
      nodes: fleet.publicInfo.members.map((member) => ({
        name: member.name,
        url: fleet.nodes[member.index]!.url,
      })),
    }),
  );
  chatd = await ChatdProcess.start(join(dir, 'chatd.json'));
  chatdHttp = chatd.url.replace(/^ws:/, 'http:').replace(/\/v1\/chatd$/, '');
});
after(async () => {
  await chatd?.stop();
  await fleet?.close();
  await etcd?.destroy();
});

interface Probe {
  readonly status: number;
  readonly body: { ready?: boolean; reason?: string };
}

async function probe(base: string, path: string): Promise<Probe> {
  const response = await fetch(new URL(path, base));
  const text = await response.text();
  return { status: response.status, body: path === '/ready' ? JSON.parse(text) : {} };
}

function untilStatus(base: string, path: string, status: number, what: string): Promise<Probe> {
  return eventually(
    () => probe(base, path),
    (answer) => answer.status === status,
    what,
    WAIT_MS,
  );
}

const nodeUrls = () => fleet.nodes.map((node) => node.url);

describe('readiness of vault nodes and ChatD processes', () => {
  it('is ready with the store and every node up', async () => {
    for (const url of nodeUrls()) {
      assert.equal((await probe(url, '/health')).status, 200);
      const ready = await untilStatus(url, '/ready', 200, `${url} is ready`);
      assert.deepEqual(ready.body, { ready: true });
    }
    assert.equal((await probe(chatdHttp, '/health')).status, 200);
    assert.deepEqual((await untilStatus(chatdHttp, '/ready', 200, 'chatd is ready')).body, { ready: true });
  });

  it('answers 503 saying the record store does not answer while etcd has no quorum, and 200 once it is back', async () => {
    await etcd.kill(1);
    await etcd.kill(2);
    try {
      for (const url of nodeUrls()) {
        const answer = await untilStatus(url, '/ready', 503, `${url} is not ready without etcd`);
        assert.equal(answer.body.ready, false);
        assert.match(answer.body.reason ?? '', /^the record store does not answer$/);
        assert.equal((await probe(url, '/health')).status, 200, 'the process itself is alive');
      }
      const chatdAnswer = await untilStatus(chatdHttp, '/ready', 503, 'chatd is not ready without etcd');
      assert.match(
        chatdAnswer.body.reason ?? '',
        /^no vault node is ready \(node-0: the record store does not answer;/,
      );
      assert.equal((await probe(chatdHttp, '/health')).status, 200);
    } finally {
      await etcd.restart(1);
      await etcd.restart(2);
    }
    await etcd.waitHealthy();
    for (const url of nodeUrls()) await untilStatus(url, '/ready', 200, `${url} is ready again`);
    await untilStatus(chatdHttp, '/ready', 200, 'chatd is ready again');
  });

  it('answers 503 on a node that reaches fewer than a quorum of nodes, and 200 once they are back', async () => {
    const [survivor, ...others] = fleet.nodes;
    assert.ok(survivor);
    await Promise.all(others.map((node) => node.kill()));
    try {
      const answer = await untilStatus(survivor.url, '/ready', 503, 'the survivor is not ready alone');
      assert.match(answer.body.reason ?? '', /^1 of 3 nodes reachable, a quorum needs 2$/);
      assert.equal((await probe(survivor.url, '/health')).status, 200);
      // A request the survivor cannot serve alone is counted as a quorum failure in its metrics.
      await assert.rejects(
        fleet.clientOf(0, undefined, 0).enable(new Uint8Array(randomBytes(16)), 'pw', new Uint8Array(32), 3),
        UnavailableError,
      );
      const metrics = await (await fetch(new URL('/metrics', survivor.url))).text();
      assert.match(
        metrics,
        /^strongroom_vault_operations_total\{op="registerFinish",outcome="no-quorum"\} 1$/m,
      );
      assert.match(metrics, /^strongroom_vault_quorum_failures_total 1$/m);
      const chatdAnswer = await untilStatus(chatdHttp, '/ready', 503, 'chatd is not ready without a quorum');
      assert.match(
        chatdAnswer.body.reason ?? '',
        /^no vault node is ready \(node-0: 1 of 3 nodes reachable, a quorum needs 2; node-1: unreachable; node-2: unreachable\)$/,
      );
    } finally {
      await Promise.all(others.map((node) => node.start(120_000)));
    }
    for (const url of nodeUrls()) await untilStatus(url, '/ready', 200, `${url} is ready again`);
    await untilStatus(chatdHttp, '/ready', 200, 'chatd is ready again');
  });
});
