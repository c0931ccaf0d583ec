// Tests of the coordinator's skipped read (src/vault-host/coordinator.ts; docs/PROTOCOL.md §9 step 1):
// a host starts its next transition of a record from the slot it committed itself, so an honest
// recovery costs no store read; when another host wrote in between, the stale start loses its CAS
// and the host reads again, counting every guess exactly; and an answer that needs no transition
// (status) always comes from a fresh read.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { CertifiedState } from '../../src/protocol/vault/record.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import { VaultCoordinator } from '../../src/vault-host/coordinator.ts';
import type { EndorsementPeer } from '../../src/vault-host/peer.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
});
after(() => t.close());

/** The fleet's store, counting reads and lost compare-and-sets. */
function countingStore(): RecordStore & { reads: number; lost: number } {
  const counted = {
    reads: 0,
    lost: 0,
    get: (id: Uint8Array) => {
      counted.reads++;
      return t.store.get(id);
    },
    compareAndSet: async (...args: Parameters<RecordStore['compareAndSet']>) => {
      const revision = await t.store.compareAndSet(...args);
      if (revision === undefined) counted.lost++;
      return revision;
    },
    ids: () => t.store.ids(),
    ping: () => t.store.ping(),
    close: async () => undefined,
  };
  return counted;
}

/** A host (coordinator) in front of node `own`'s core, over `store`. */
function host(store: RecordStore, own: number) {
  const peers = t.fleet.peers as readonly EndorsementPeer[];
  const coordinator = new VaultCoordinator({
    store,
    peers,
    own: peers[own] as EndorsementPeer,
    fleet: t.ceremony.config,
    fanout: 'all',
    log: { warn: () => undefined },
  });
  const transport: VaultTransport = { exchange: (frame) => coordinator.handle(frame) };
  return t.client({ transport });
}

async function committed(recordId: Uint8Array): Promise<CertifiedState> {
  const slot = await t.store.get(recordId);
  assert.ok(slot?.committed);
  return CertifiedState.deserialize(slot.committed);
}

test('a recovery on the host that committed the record last reads nothing before its intents', async () => {
  const store = countingStore();
  const client = host(store, 0);
  const recordId = nodePrimitives.randomBytes(16);
  await client.enable(recordId, 'right', nodePrimitives.randomBytes(32), 5);
  store.reads = 0;
  const recovered = await client.recover(recordId, 'right');
  assert.equal(recovered.guessesLeft, 5);
  assert.equal(store.reads, 0, 'spend and refund both started from the slot this host committed');
  assert.equal(store.lost, 0);
});

test('another host’s write in between: the stale start loses its CAS, the host reads again, guesses stay exact', async () => {
  const storeA = countingStore();
  const a = host(storeA, 0);
  const b = host(countingStore(), 1);
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await a.enable(recordId, 'right', key, 5);
  // Host B spends two guesses; host A still remembers the state after the create.
  await assert.rejects(b.recover(recordId, 'wrong'), WrongPasswordError);
  await assert.rejects(b.recover(recordId, 'wrong'), WrongPasswordError);
  const beforeA = await committed(recordId);
  storeA.reads = 0;
  await assert.rejects(
    a.recover(recordId, 'wrong'),
    (error) => error instanceof WrongPasswordError && error.guessesLeft === 2,
  );
  assert.equal(storeA.lost, 1, 'the spend from the remembered state lost its CAS');
  assert.ok(storeA.reads >= 1, 'and the host read the slot again');
  const after = await committed(recordId);
  assert.equal(after.state.version, beforeA.state.version + 1n, 'exactly one spend was certified');
  const recovered = await a.recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 3);
});

test('an answer without a transition (status) comes from a fresh read, not the remembered slot', async () => {
  const storeA = countingStore();
  const a = host(storeA, 0);
  const b = host(countingStore(), 1);
  const recordId = nodePrimitives.randomBytes(16);
  await a.enable(recordId, 'right', nodePrimitives.randomBytes(32), 5);
  await assert.rejects(b.recover(recordId, 'wrong'), WrongPasswordError);
  storeA.reads = 0;
  const status = await a.status(recordId);
  assert.equal(status.guessesLeft, 4, 'host A shows host B’s spend');
  assert.equal(status.version, Number((await committed(recordId)).state.version));
  assert.ok(storeA.reads >= 1);
});
