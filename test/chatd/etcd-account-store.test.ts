// ChatD's etcd account store (docs/CHATD.md "ChatD across regions") against a real 3-member etcd
// cluster: two store clients stand for two ChatDs. Concurrent joins of one user make one account
// with every device listed once; an approval setting racing a join is not lost; join-code tries
// and shared token buckets are spent exactly once each across both; join codes and buckets are
// deleted by etcd once expired or full again; a notification logged through one is reported to
// the other's watch; with the cluster's quorum gone every call fails with UnavailableError, and
// once it is back nothing was lost. A fake member's malformed or cancelling watch answers end the
// watch with an error, never a notification.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AccountFullError } from '../../src/chatd/account-store.ts';
import { EtcdAccountStore } from '../../src/chatd/etcd-account-store.ts';
import { DEFAULT_JOIN_CODE_POLICY, JoinCodes } from '../../src/chatd/join-codes.ts';
import { UnavailableError } from '../../src/errors.ts';
import { DeviceState } from '../../src/protocol/chatd/handshake.ts';
import { NotificationKind } from '../../src/protocol/chatd/notification.ts';
import { EtcdGrpcClient } from '../../src/stores/record/etcd-grpc.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { eventually, retryUntilAvailable } from '../helpers/eventually.ts';

const key = () => new Uint8Array(randomBytes(32));
const hexes = (keys: Uint8Array[]) => keys.map((k) => Buffer.from(k).toString('hex')).sort();

describe('etcd account store shared by two ChatDs', () => {
  let etcd: EtcdCluster;
  let a: EtcdAccountStore;
  let b: EtcdAccountStore;
  before(async () => {
    etcd = await EtcdCluster.start(3);
    a = new EtcdAccountStore({ hosts: etcd.endpoints(), prefix: 'test/' });
    b = new EtcdAccountStore({ hosts: etcd.endpoints(), prefix: 'test/' });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await etcd?.destroy();
  });

  it('makes one account for concurrent joins of one user, every device listed once', async () => {
    const keys = Array.from({ length: 12 }, key);
    const now = Date.now();
    const joined = await Promise.all(keys.map((k, i) => (i % 2 === 0 ? a : b).join('erin', k, now, 32)));
    assert.equal(new Set(joined.map((j) => j.account.id)).size, 1, 'one account id for every join');
    const devices = await b.devices(joined[0]!.account.id);
    assert.deepEqual(hexes(devices.map((d) => d.publicKey)), hexes(keys));
    assert.ok(
      devices.every((d) => d.state === DeviceState.active),
      'no approval asked: all active',
    );
    assert.deepEqual(await a.account('erin'), {
      id: joined[0]!.account.id,
      userId: 'erin',
      requireApproval: false,
    });
  });

  it('refuses a join past the device limit without changing the account', async () => {
    const now = Date.now();
    const first = await a.join('fay', key(), now, 2);
    await b.join('fay', key(), now, 2);
    await assert.rejects(a.join('fay', key(), now, 2), AccountFullError);
    assert.equal((await b.devices(first.account.id)).length, 2);
  });

  it('keeps an approval setting that races joins, and later joins wait for approval', async () => {
    const now = Date.now();
    const first = await a.join('gil', key(), now, 32);
    const racing = Array.from({ length: 6 }, key);
    await Promise.all([
      b.setRequireApproval(first.account.id, true),
      ...racing.map((k, i) => (i % 2 === 0 ? a : b).join('gil', k, now, 32)),
    ]);
    assert.equal((await a.account('gil'))?.requireApproval, true, 'the setting survived every join');
    assert.equal((await b.devices(first.account.id)).length, 7, 'and every join survived the setting');
    const late = key();
    assert.equal((await b.join('gil', late, now, 32)).state, DeviceState.pending);
    assert.equal(await a.activate(first.account.id, late), true);
    assert.equal(await b.activate(first.account.id, late), false, 'approved once only');
    assert.equal((await b.device(first.account.id, late))?.state, DeviceState.active);
  });

  it('spends each join-code try once across both ChatDs', async () => {
    const [codesA, codesB] = await Promise.all([JoinCodes.open(a), JoinCodes.open(b)]);
    const device = key();
    const code = await codesA.issue('hal', device);
    const wrong = code === '00000000' ? '11111111' : '00000000';
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? codesA : codesB).check('hal', device, wrong)),
    );
    const tries = outcomes.flatMap((o) => (o.outcome === 'wrong' ? [o.triesLeft] : [])).sort();
    assert.deepEqual(tries, [0, 1, 2], `three tries, each spent once: ${JSON.stringify(outcomes)}`);
    assert.equal(outcomes.filter((o) => o.outcome === 'expired').length, 3);
    assert.deepEqual(await codesB.check('hal', device, code), { outcome: 'expired' }, 'the code is gone');
  });

  it('a join code issued through one ChatD is accepted through the other', async () => {
    const [codesA, codesB] = await Promise.all([JoinCodes.open(a), JoinCodes.open(b)]);
    const device = key();
    const code = await codesA.issue('ida', device);
    assert.deepEqual(await codesB.check('ida', device, code), { outcome: 'right' });
    assert.deepEqual(await codesA.check('ida', device, code), { outcome: 'expired' }, 'consumed once');
  });

  it('gives exactly the bucket capacity across both ChatDs taking at once', async () => {
    const spec = { capacity: 10, perSecond: 1 / 3600 };
    const fromA = a.sharedBuckets('vault', spec, Date.now);
    const fromB = b.sharedBuckets('vault', spec, Date.now);
    const waits = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? fromA : fromB).take('account-1')),
    );
    assert.equal(waits.filter((w) => w === 0).length, 10);
    assert.ok(
      waits.filter((w) => w > 0).every((w) => w > 3_000_000),
      'the rest wait about an hour',
    );
  });

  /** The keys etcd holds under `test/PART/` (read directly, not through a store). */
  async function keysUnder(part: string): Promise<string[]> {
    const raw = new EtcdGrpcClient(etcd.endpoints(), { callTimeoutMs: 2000 });
    try {
      const start = Buffer.from(`test/${part}/`);
      const end = Buffer.from(`test/${part}0`); // '0' follows '/'
      return (await raw.range(start, { rangeEnd: end, keysOnly: true })).map((kv) =>
        Buffer.from(kv.key).toString('utf8'),
      );
    } finally {
      raw.close();
    }
  }

  it('lets etcd delete an expired join code, which is refused', async () => {
    const codes = await JoinCodes.open(a, { ...DEFAULT_JOIN_CODE_POLICY, ttlMs: 1000 });
    const device = key();
    const code = await codes.issue('kim', device);
    assert.equal((await keysUnder('join-codes')).length, 1, 'the code is stored');
    await eventually(
      () => keysUnder('join-codes'),
      (keys) => keys.length === 0,
      'etcd has deleted the expired code',
      30_000,
    );
    const late = await JoinCodes.open(b, { ...DEFAULT_JOIN_CODE_POLICY, ttlMs: 1000 });
    assert.deepEqual(await late.check('kim', device, code), { outcome: 'expired' });
  });

  it('lets etcd delete a rate-limit bucket once it is full again', async () => {
    const buckets = a.sharedBuckets('expiring', { capacity: 2, perSecond: 2 }, Date.now);
    assert.equal(await buckets.take('lee'), 0);
    assert.equal((await keysUnder('buckets')).filter((k) => k.includes('/expiring/')).length, 1);
    await eventually(
      () => keysUnder('buckets'),
      (keys) => !keys.some((k) => k.includes('/expiring/')),
      'etcd has deleted the refilled bucket',
      30_000,
    );
    assert.equal(await buckets.take('lee'), 0, 'a deleted bucket is a full one');
  });

  it("reports a notification logged through one store to the other's watch", async () => {
    const { account } = await a.join('max', key(), Date.now(), 32);
    const reported: Array<[number, number]> = [];
    let created = false;
    const watch = b.watchNotifications({
      onCreated: () => {
        created = true;
      },
      onNotified: (accountId, id) => reported.push([accountId, id]),
      onError: (error) => assert.fail(`the watch failed: ${String(error)}`),
    });
    try {
      await eventually(async () => created, Boolean, 'the watch is in place');
      const row = await a.addNotification(account.id, {
        kind: NotificationKind.deviceJoined,
        atMs: Date.now(),
        subject: key(),
        count: 0,
      });
      await eventually(
        async () => reported,
        (seen) => seen.some(([id, n]) => id === account.id && n === row.id),
        'the watch reports the notification',
      );
    } finally {
      watch.close();
    }
  });

  it('answers UnavailableError without a quorum, and loses nothing', async () => {
    const now = Date.now();
    const first = key();
    const { account } = await a.join('jan', first, now, 32);
    const second = key();
    await etcd.kill(1);
    await etcd.kill(2);
    try {
      await assert.rejects(b.join('jan', second, now, 32), UnavailableError);
      await assert.rejects(a.account('jan'), UnavailableError);
    } finally {
      await etcd.restart(1);
      await etcd.restart(2);
    }
    const kept = await retryUntilAvailable(() => b.devices(account.id));
    assert.ok(
      kept.some((d) => Buffer.from(d.publicKey).equals(first) && d.state === DeviceState.active),
      'the device that joined before the outage is still there, active',
    );
    // The failed join may or may not have landed (an unanswered write can still commit): retried,
    // it is listed once.
    await retryUntilAvailable(() => b.join('jan', second, now, 32));
    assert.deepEqual(hexes((await a.devices(account.id)).map((d) => d.publicKey)), hexes([first, second]));
  });
});

/** A fake etcd member that answers a watch with `body` and leaves the stream open. */
async function fakeWatchMember(body: Uint8Array) {
  const server = createServer();
  server.on('stream', (stream: ServerHttp2Stream) => {
    stream.once('data', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A gRPC frame: not compressed, length u32 BE, message. */
function grpcFrame(message: number[]): Uint8Array {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

describe('a notification watch against a broken member', () => {
  const reason = [...Buffer.from('etcdserver: no leader')];
  const cases: Array<[string, Uint8Array, RegExp]> = [
    // WatchResponse with an events field (11) whose length runs past the end.
    ['a truncated protobuf field', grpcFrame([0x5a, 0x40, 0x01]), /truncated protobuf field/],
    ['a compressed frame', Uint8Array.of(1, 0, 0, 0, 0), /compressed gRPC message/],
    ['a frame declared over the size limit', Uint8Array.of(0, 0x7f, 0xff, 0xff, 0xff), /over the size limit/],
    // WatchResponse { canceled 4: true, cancel_reason 6: "etcdserver: no leader" }.
    [
      'a cancelled watch',
      grpcFrame([0x20, 1, 0x32, reason.length, ...reason]),
      /watch cancelled \(etcdserver: no leader\)/,
    ],
  ];
  for (const [what, body, expected] of cases) {
    it(`ends the watch with an error on ${what}`, async () => {
      const { host, server } = await fakeWatchMember(body);
      const store = new EtcdAccountStore({ hosts: [host], prefix: 'test/' });
      const seen: string[] = [];
      let failure: unknown;
      const watch = store.watchNotifications({
        onCreated: () => seen.push('created'),
        onNotified: () => seen.push('notified'),
        onError: (error) => {
          failure = error;
        },
      });
      try {
        await eventually(
          async () => failure,
          (f) => f !== undefined,
          'the watch fails',
        );
        assert.match(String(failure), expected);
        assert.deepEqual(seen, [], 'nothing was reported before the failure');
      } finally {
        watch.close();
        await store.close();
        server.close();
      }
    });
  }
});
