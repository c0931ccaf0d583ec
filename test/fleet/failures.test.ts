// Whole-fleet failures (docs/ARCHITECTURE.md "Processes and deployment": with a minority of nodes or regions
// down everything still works, without a quorum the vault fails closed). Three `strongroom vault
// node` processes in three regions over a real 3-member etcd cluster, on loopback.
import assert from 'node:assert/strict';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LockedError, UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { CertifiedState, RecordStatus } from '../../src/protocol/vault/record.ts';
import { openRecordStore } from '../../src/stores/record/index.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { ProcessFleet } from './fleet.ts';

/** Fresh random bytes as a plain Uint8Array (what the client returns), not a Buffer. */
const randomBytes = (length: number) => new Uint8Array(nodeRandomBytes(length));

let etcd: EtcdCluster;
let fleet: ProcessFleet;
let store: RecordStore;

before(async () => {
  etcd = await EtcdCluster.start(3);
  const url = etcd.url('failures');
  fleet = await ProcessFleet.start({
    store: url,
    regions: ['eu', 'us', 'ap'],
    nodeArgs: ['--peer-timeout', '1000', '--store-timeout', '600'],
  });
  store = openRecordStore(url);
});
after(async () => {
  await store?.close();
  await fleet?.close();
  await etcd?.destroy();
});

/** The record's committed certified state, read straight from etcd. */
async function committed(recordId: Uint8Array): Promise<CertifiedState> {
  const slot = await store.get(recordId);
  assert.ok(slot?.committed, 'the record has a committed state');
  return CertifiedState.deserialize(slot.committed);
}

describe('a fleet of 3 node processes over a 3-member etcd cluster', () => {
  it('keeps working with one region down: enable, recover, wrong guesses, lockout', async () => {
    await fleet.nodes[1]?.kill(); // region "us"
    await etcd.kill(2); // and one etcd member with it
    try {
      const client = fleet.client({ region: 'us' });
      const recordId = randomBytes(16);
      const key = randomBytes(32);
      await client.enable(recordId, 'right', key, 3);
      await assert.rejects(
        client.recover(recordId, 'wrong'),
        (e) => e instanceof WrongPasswordError && e.guessesLeft === 2,
      );
      const recovered = await client.recover(recordId, 'right');
      assert.deepEqual(recovered.key.exposeBytes(), key);
      assert.equal(recovered.failedGuessesSinceLastSuccess, 1);
      await assert.rejects(
        client.recover(recordId, 'wrong'),
        (e) => e instanceof WrongPasswordError && e.guessesLeft === 1,
      );
      await assert.rejects(
        client.recover(recordId, 'wrong'),
        (e) => e instanceof WrongPasswordError && e.guessesLeft === 0,
      );
      await assert.rejects(client.recover(recordId, 'right'), LockedError);
      await eventually(
        () => committed(recordId),
        (c) => c.state.status === RecordStatus.locked,
        'a host locks the exhausted record',
      );
    } finally {
      await etcd.restart(2);
      await fleet.nodes[1]?.start();
    }
  });

  it('fails closed with a majority of nodes down, and counts guesses exactly once they return', async () => {
    const client = fleet.client({ region: 'eu' });
    const recordId = randomBytes(16);
    const key = randomBytes(32);
    await client.enable(recordId, 'right', key, 5);
    await assert.rejects(client.recover(recordId, 'wrong'), WrongPasswordError);
    const before = await committed(recordId);

    await fleet.nodes[1]?.kill();
    await fleet.nodes[2]?.kill();
    try {
      await assert.rejects(client.recover(recordId, 'wrong'), UnavailableError);
      await assert.rejects(client.recover(recordId, 'right'), UnavailableError);
      await assert.rejects(client.enable(randomBytes(16), 'x', randomBytes(32), 5), UnavailableError);
      // Nothing was certified without a quorum: the committed state did not move.
      const during = await committed(recordId);
      assert.equal(during.state.version, before.state.version);
      assert.equal(during.state.guessesLeft, before.state.guessesLeft);
    } finally {
      await fleet.nodes[1]?.start();
      await fleet.nodes[2]?.start();
    }
    // Without a reachable quorum the coordinator wrote nothing (docs/PROTOCOL.md "Coordinator",
    // step 3): after the restart the record is exactly where it was, and no guess was lost.
    const settled = await client.status(recordId);
    assert.equal(settled.version, Number(before.state.version));
    assert.equal(settled.guessesLeft, before.state.guessesLeft);
    assert.equal((await store.get(recordId))?.intent, undefined, 'no intent was written');
    const recovered = await client.recover(recordId, 'right');
    assert.deepEqual(recovered.key.exposeBytes(), key);
    assert.equal(recovered.failedGuessesSinceLastSuccess, 1, 'only the guess answered before the outage');
    assert.equal(recovered.guessesLeft, 4);
  });

  it('commits at a quorum: a stalled node (SIGSTOP, connections open) costs no waiting', async () => {
    const client = fleet.client({ region: 'eu' });
    const recordId = randomBytes(16);
    const key = randomBytes(32);
    await client.enable(recordId, 'right', key, 5);
    fleet.nodes[2]?.pause();
    try {
      // Each recovery is two transitions; waiting for node 2 would cost the 1000 ms peer timeout
      // on each, so three recoveries would take over 6 s.
      const started = Date.now();
      for (let i = 0; i < 3; i++)
        assert.deepEqual((await client.recover(recordId, 'right')).key.exposeBytes(), key);
      const took = Date.now() - started;
      assert.ok(took < 4000, `3 recoveries took ${took} ms with one node stalled`);
      const signers = (await committed(recordId)).certificate.signatures.map((s) => s.nodeIndex);
      assert.deepEqual([...signers].sort(), [0, 1]);
    } finally {
      fleet.nodes[2]?.resume();
    }
  });

  it('fails closed when etcd loses its quorum, and works after it regains it', async () => {
    const client = fleet.client({ region: 'ap' });
    const recordId = randomBytes(16);
    const key = randomBytes(32);
    await client.enable(recordId, 'right', key, 5);
    const before = await committed(recordId);

    await etcd.kill(0);
    await etcd.kill(1);
    try {
      await assert.rejects(client.recover(recordId, 'wrong'), UnavailableError);
      await assert.rejects(client.status(recordId), UnavailableError);
    } finally {
      await etcd.restart(0);
      await etcd.restart(1);
    }
    const recovered = await client.recover(recordId, 'right');
    assert.deepEqual(recovered.key.exposeBytes(), key);
    assert.equal(recovered.failedGuessesSinceLastSuccess, 0, 'no guess was spent while etcd was down');
    const after = await committed(recordId);
    assert.equal(after.state.guessesLeft, before.state.guessesLeft);
  });

  it('counts exactly `limit` of many concurrent wrong guesses from clients in three regions', async () => {
    const recordId = randomBytes(16);
    await fleet.client().enable(recordId, 'right', randomBytes(32), 4);
    const clients = ['eu', 'us', 'ap'].map((region) => fleet.client({ region }));
    const outcomes = await Promise.all(
      clients.flatMap((client) =>
        Array.from({ length: 4 }, () =>
          client.recover(recordId, 'wrong').then(
            () => 'recovered',
            (error: unknown) => error,
          ),
        ),
      ),
    );
    const told = outcomes.filter((outcome) => outcome instanceof WrongPasswordError) as WrongPasswordError[];
    for (const outcome of outcomes) {
      assert.ok(
        outcome instanceof WrongPasswordError ||
          outcome instanceof LockedError ||
          outcome instanceof UnavailableError,
        String(outcome),
      );
    }
    assert.ok(told.length <= 4, 'never more wrong answers than the limit');
    // Every answered guess saw a distinct count: one spend each.
    assert.equal(new Set(told.map((e) => e.guessesLeft)).size, told.length);
    await assert.rejects(clients[0]?.recover(recordId, 'right') as Promise<unknown>, LockedError);
    const final = await eventually(
      () => committed(recordId),
      (c) => c.state.status === RecordStatus.locked,
      'a host locks the exhausted record',
    );
    // Create at 1, exactly four spends, then the lock.
    assert.equal(final.state.version, 6n);
  });
});
