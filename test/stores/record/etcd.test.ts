// etcd record store (src/stores/record/etcd.ts) on a real 3-member etcd cluster: the shared
// contract, then failures — one member down, majority down (fails closed within its bound and
// writes nothing), members coming back, prefixes kept apart, an unreachable cluster.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnavailableError } from '../../../src/errors.ts';
import { EtcdRecordStore } from '../../../src/stores/record/etcd.ts';
import { openRecordStore } from '../../../src/stores/record/index.ts';
import { EtcdCluster, freePorts } from '../../helpers/etcd-cluster.ts';
import { retryUntilAvailable } from '../../helpers/eventually.ts';
import { collectIds, recordStoreContract } from './contract.ts';

let cluster: EtcdCluster;
before(async () => {
  cluster = await EtcdCluster.start(3);
});
after(() => cluster?.destroy());

let prefixes = 0;
const timeouts = { callTimeoutMs: 500, operationTimeoutMs: 1500 };

describe('etcd record store: contract', () => {
  recordStoreContract(async () => {
    const url = cluster.url(`contract-${prefixes++}`);
    return { open: () => openRecordStore(url, timeouts) };
  });
});

async function isUnavailableWithin(promise: Promise<unknown>, boundMs: number): Promise<void> {
  const started = Date.now();
  await assert.rejects(promise, UnavailableError);
  assert.ok(Date.now() - started < boundMs, `took ${Date.now() - started} ms, bound ${boundMs} ms`);
}

describe('etcd record store: failures', () => {
  it('keeps prefixes apart: one fleet never sees another fleet’s records', async () => {
    const a = openRecordStore(cluster.url('fleet-a'), timeouts);
    const b = openRecordStore(cluster.url('fleet-ab'), timeouts);
    try {
      const id = randomBytes(16);
      await a.compareAndSet(id, undefined, { committed: Uint8Array.of(1) });
      assert.equal(await b.get(id), undefined);
      assert.deepEqual(await collectIds(b), []);
      assert.deepEqual(await collectIds(a), [id.toString('hex')]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('works with one member of three down, and after it returns', async () => {
    const prefix = `one-down-${prefixes++}`;
    const store = openRecordStore(cluster.url(prefix), timeouts);
    try {
      const id = randomBytes(16);
      await cluster.kill(0);
      const created = await store.compareAndSet(id, undefined, { committed: Uint8Array.of(1) });
      const slot = await store.get(id);
      assert.ok(slot);
      assert.equal(created, slot.revision);
      const updated = await store.compareAndSet(id, slot.revision, { committed: Uint8Array.of(2) });
      assert.ok(updated !== undefined && updated > slot.revision);
      await cluster.restart(0);
      // Only the restarted member: it caught up with what the other two wrote.
      const fromRestarted = new EtcdRecordStore({
        hosts: cluster.endpoints([0]),
        prefix: `${prefix}/`,
        ...timeouts,
      });
      try {
        assert.deepEqual((await fromRestarted.get(id))?.committed, Uint8Array.of(2));
      } finally {
        await fromRestarted.close();
      }
    } finally {
      await store.close();
    }
  });

  it('fails closed with UnavailableError within its bound when a majority is down, writing nothing', async () => {
    const fast = { callTimeoutMs: 300, operationTimeoutMs: 700 };
    const store = openRecordStore(cluster.url(`majority-${prefixes++}`), fast);
    try {
      const id = randomBytes(16);
      await store.compareAndSet(id, undefined, { committed: Uint8Array.of(1) });
      const before = await store.get(id);
      assert.ok(before);
      await cluster.kill(1);
      await cluster.kill(2);
      // The survivor notices it lost its quorum after an election timeout (check-quorum).
      while (await cluster.isHealthy(0)) await new Promise((r) => setTimeout(r, 25));
      const bound = fast.operationTimeoutMs + 300;
      await isUnavailableWithin(store.get(id), bound);
      await isUnavailableWithin(
        store.compareAndSet(id, before.revision, { committed: Uint8Array.of(9) }),
        bound,
      );
      await isUnavailableWithin(
        store.compareAndSet(randomBytes(16), undefined, { committed: Uint8Array.of(9) }),
        bound,
      );
      await isUnavailableWithin(collectIds(store), bound);
      await assert.rejects(
        store.ping(),
        (error: unknown) => error instanceof UnavailableError && /ping failed/.test(error.message),
      );

      await cluster.restart(1);
      await cluster.restart(2);
      await cluster.waitHealthy();
      // Same client, reconnected: the refused write did not land.
      const restarted = Date.now();
      const after = await retryUntilAvailable(() => store.get(id));
      assert.ok(Date.now() - restarted < 3000, 'the client reconnects promptly');
      assert.deepEqual(after, before);
      assert.deepEqual(await collectIds(store), [id.toString('hex')]);
      await store.ping();
      assert.notEqual(
        await store.compareAndSet(id, before.revision, { committed: Uint8Array.of(2) }),
        undefined,
      );
    } finally {
      await store.close();
    }
  });

  it('shows the snapshot’s state, and nothing later, after a restore into a fresh cluster', async () => {
    const prefix = `rollback-${prefixes++}`;
    const store = openRecordStore(cluster.url(prefix), timeouts);
    let restored: EtcdCluster | undefined;
    try {
      const id = randomBytes(16);
      const later = randomBytes(16);
      await store.compareAndSet(id, undefined, { committed: Uint8Array.of(1) });
      const atSnapshot = await store.get(id);
      assert.ok(atSnapshot);
      const file = join(cluster.dir, `${prefix}.db`);
      await cluster.snapshot(file);
      await store.compareAndSet(id, atSnapshot.revision, { committed: Uint8Array.of(2) });
      await store.compareAndSet(later, undefined, { committed: Uint8Array.of(3) });

      restored = await EtcdCluster.fromSnapshot(file);
      const old = openRecordStore(restored.url(prefix), timeouts);
      try {
        assert.deepEqual(await old.get(id), atSnapshot);
        assert.equal(await old.get(later), undefined);
        assert.deepEqual(await collectIds(old), [id.toString('hex')]);
      } finally {
        await old.close();
      }
    } finally {
      await store.close();
      await restored?.destroy();
    }
  });

  it('fails with UnavailableError within its bound when no member is reachable', async () => {
    const ports = await freePorts(2);
    const store = openRecordStore(`etcd://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`, timeouts);
    try {
      await isUnavailableWithin(store.get(randomBytes(16)), timeouts.operationTimeoutMs + 500);
    } finally {
      await store.close();
    }
  });
});
