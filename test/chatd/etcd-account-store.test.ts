// ChatD's etcd account store (docs/CHATD.md "ChatD across regions") against a real 3-member etcd
// cluster: two store clients stand for two ChatDs. Concurrent joins of one user make one account
// with every device listed once; an approval setting racing a join is not lost; join-code tries
// and shared token buckets are spent exactly once each across both; with the cluster's quorum
// gone every call fails with UnavailableError, and once it is back nothing was lost.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AccountFullError } from '../../src/chatd/account-store.ts';
import { EtcdAccountStore } from '../../src/chatd/etcd-account-store.ts';
import { JoinCodes } from '../../src/chatd/join-codes.ts';
import { UnavailableError } from '../../src/errors.ts';
import { DeviceState } from '../../src/protocol/chatd/handshake.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { retryUntilAvailable } from '../helpers/eventually.ts';

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
