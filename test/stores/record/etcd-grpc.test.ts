// The etcd store's own gRPC client (src/stores/record/etcd-grpc.ts): calls go to the leader of a
// real 3-member cluster (counted by etcd's own metrics), follow a new leader when the old one dies,
// and every malformed, refused or missing answer of a fake member is UnavailableError within the
// store's bound, never a value.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { UnavailableError } from '../../../src/errors.ts';
import { EtcdRecordStore } from '../../../src/stores/record/etcd.ts';
import { EtcdCluster } from '../../helpers/etcd-cluster.ts';
import { retryUntilAvailable } from '../../helpers/eventually.ts';

const timeouts = { callTimeoutMs: 500, operationTimeoutMs: 1500 };

/** Per member: whether it leads, and how many Range and Txn calls it has served. */
async function served(cluster: EtcdCluster): Promise<{ leader: boolean; calls: number }[]> {
  return Promise.all(
    cluster.members.map(async (member) => {
      if (member.process === undefined) return { leader: false, calls: 0 };
      const text = await (await fetch(`http://127.0.0.1:${member.clientPort}/metrics`)).text();
      let calls = 0;
      let leader = false;
      for (const line of text.split('\n')) {
        if (/^grpc_server_handled_total\{.*grpc_method="(Range|Txn)"/.test(line))
          calls += Number(line.split(' ').at(-1));
        if (line.startsWith('etcd_server_is_leader ')) leader = line.endsWith(' 1');
      }
      return { leader, calls };
    }),
  );
}

describe('etcd gRPC client on a real cluster', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await EtcdCluster.start(3);
  });
  after(() => cluster?.destroy());

  it('sends reads and writes to the leader, and follows a new leader when the old one dies', async () => {
    const store = new EtcdRecordStore({ hosts: cluster.endpoints(), prefix: 'leader/', ...timeouts });
    try {
      const id = randomBytes(16);
      let revision = await store.compareAndSet(id, undefined, { committed: Uint8Array.of(1) });
      // The first calls may go anywhere while the leader is looked up.
      await new Promise((r) => setTimeout(r, 200));
      const before = await served(cluster);
      for (let i = 0; i < 20; i++) {
        assert.equal((await store.get(id))?.revision, revision);
        revision = await store.compareAndSet(id, revision, { committed: Uint8Array.of(i) });
        assert.ok(revision !== undefined);
      }
      const afterCalls = await served(cluster);
      const leader = afterCalls.findIndex((member) => member.leader);
      assert.ok(leader >= 0);
      for (const [index, member] of afterCalls.entries()) {
        const delta = member.calls - (before[index]?.calls ?? 0);
        if (index === leader) assert.ok(delta >= 40, `the leader served ${delta} of 40 calls`);
        else assert.equal(delta, 0, `follower ${index} served ${delta} calls`);
      }

      await cluster.kill(leader);
      revision = await retryUntilAvailable(async () => {
        const slot = await store.get(id);
        assert.ok(slot);
        return store.compareAndSet(id, slot.revision, { committed: Uint8Array.of(99) });
      });
      assert.ok(revision !== undefined);
      await new Promise((r) => setTimeout(r, 300));
      const beforeNew = await served(cluster);
      for (let i = 0; i < 10; i++) assert.ok(await store.get(id));
      const afterNew = await served(cluster);
      const newLeader = afterNew.findIndex((member) => member.leader);
      assert.ok(newLeader >= 0 && newLeader !== leader);
      assert.ok((afterNew[newLeader]?.calls ?? 0) - (beforeNew[newLeader]?.calls ?? 0) >= 10);
      await cluster.restart(leader);
    } finally {
      await store.close();
    }
  });
});

/** A fake etcd member on loopback that answers every call with `answer`. */
async function fakeMember(
  answer: (stream: ServerHttp2Stream) => void,
): Promise<{ host: string; server: Http2Server }> {
  const server = createServer();
  server.on('stream', (stream) => {
    stream.on('data', () => undefined);
    stream.on('end', () => answer(stream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A gRPC message frame around `message`, with its length written as `declared`. */
function grpcFrame(message: Uint8Array, declared = message.length): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(declared, 1);
  out.set(message, 5);
  return out;
}

function ok(stream: ServerHttp2Stream, body: Uint8Array): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(body);
}

describe('etcd gRPC client against a lying or broken member', () => {
  const cases: Array<[string, (stream: ServerHttp2Stream) => void]> = [
    // RangeResponse with a kvs field (2) whose length runs past the end.
    ['a truncated protobuf field', (s) => ok(s, grpcFrame(Uint8Array.of(0x12, 0x40, 0x0a)))],
    ['a frame whose declared length is wrong', (s) => ok(s, grpcFrame(Uint8Array.of(0x18, 1), 9))],
    [
      'a compressed frame',
      (s) => ok(s, Buffer.concat([Uint8Array.of(1), grpcFrame(new Uint8Array(0)).subarray(1)])),
    ],
    ['an unknown wire type', (s) => ok(s, grpcFrame(Uint8Array.of(0x13)))],
    ['an overlong varint', (s) => ok(s, grpcFrame(Buffer.alloc(12, 0xff)))],
    ['a key-value whose value is not a slot', (s) => ok(s, grpcFrame(Uint8Array.of(0x12, 4, 0x2a, 2, 9, 9)))],
    [
      'a gRPC error status (trailers only)',
      (s) =>
        s.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' },
          { endStream: true },
        ),
    ],
    ['an HTTP error', (s) => s.respond({ ':status': 503 }, { endStream: true })],
    ['an answer without a status', (s) => s.respond({ ':status': 200 }, { endStream: true })],
    ['no answer at all', () => undefined],
  ];
  for (const [what, answer] of cases) {
    it(`turns ${what} into UnavailableError within the bound`, async () => {
      const { host, server } = await fakeMember(answer);
      const store = new EtcdRecordStore({ hosts: [host], callTimeoutMs: 200, operationTimeoutMs: 600 });
      try {
        const started = Date.now();
        await assert.rejects(store.get(randomBytes(16)), UnavailableError);
        await assert.rejects(
          store.compareAndSet(randomBytes(16), 5n, { committed: Uint8Array.of(1) }),
          UnavailableError,
        );
        assert.ok(Date.now() - started < 2 * 600 + 400, `took ${Date.now() - started} ms`);
      } finally {
        await store.close();
        server.close();
      }
    });
  }

  it('reads a well-formed answer from a member that is not etcd as exactly what it says', async () => {
    // TxnResponse { header { revision 7 }, succeeded true }: the store believes only the revision,
    // which the cores never trust anyway (every state carries its certificate).
    const { host, server } = await fakeMember((s) =>
      ok(s, grpcFrame(Uint8Array.of(0x0a, 2, 0x18, 7, 0x10, 1))),
    );
    const store = new EtcdRecordStore({ hosts: [host], ...timeouts });
    try {
      assert.equal(await store.compareAndSet(randomBytes(16), 3n, { committed: Uint8Array.of(1) }), 7n);
    } finally {
      await store.close();
      server.close();
    }
  });
});
