// Tests of src/vault-host/coordinator.ts against the in-process fleet (docs/PROTOCOL.md
// "Coordinator"): endorsements are verified before they count, whatever the peer; an intent the
// nodes can never certify is answered at once; and without a reachable quorum nothing is written,
// so a failed-closed attempt costs no guess.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import {
  deserializeCoreRequest,
  deserializeCoreResponse,
  serializeCoreResponse,
} from '../../src/protocol/vault/core-rpc.ts';
import { CertifiedState } from '../../src/protocol/vault/record.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import { type CoordinatorLog, VaultCoordinator } from '../../src/vault-host/coordinator.ts';
import { certificateVerifies } from '../../src/vault-host/endorsement-check.ts';
import type { EndorsementPeer } from '../../src/vault-host/peer.ts';
import { deadPeer, startTestFleet, type TestFleet } from './helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
});
after(() => t.close());

const isEndorse = (request: Uint8Array) => deserializeCoreRequest(request).type === 'endorse';

/** A peer in node `nodeIndex`'s name that answers every endorse request with `answer`, at once. */
function liar(nodeIndex: number, answer: (request: Uint8Array) => Promise<Uint8Array>): EndorsementPeer {
  return { nodeIndex, endorse: answer, reachable: async () => true };
}

/** A node that cannot be reached (its process is down): every request and probe fails. */
function coordinator(
  peers: readonly EndorsementPeer[],
  options: { fanout?: 'all' | 'quorum-first'; log?: CoordinatorLog } = {},
) {
  return new VaultCoordinator({
    store: t.store,
    peers,
    own: peers[0] as EndorsementPeer,
    fleet: t.ceremony.config,
    fanout: options.fanout ?? 'all',
    ...(options.log ? { log: options.log } : {}),
  });
}

function clientVia(c: VaultCoordinator) {
  const transport: VaultTransport = { exchange: (frame) => c.handle(frame) };
  return t.client({ transport });
}

async function committed(recordId: Uint8Array): Promise<CertifiedState> {
  const slot = await t.store.get(recordId);
  assert.ok(slot?.committed);
  return CertifiedState.deserialize(slot.committed);
}

test('an impostor’s garbage or replayed endorsements count toward nothing and are logged', async () => {
  const [own, , node2] = [...t.fleet.peers];
  const honest = [own, t.fleet.peers[1], node2] as EndorsementPeer[];
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  // Record node 1's real endorsements while the record is made: what a liar can replay later.
  const signedByNode1: Uint8Array[] = [];
  const recording: EndorsementPeer = {
    nodeIndex: 1,
    endorse: async (request) => {
      const answer = await (honest[1] as EndorsementPeer).endorse(request);
      if (isEndorse(request) && deserializeCoreResponse(answer).type === 'endorsement')
        signedByNode1.push(answer);
      return answer;
    },
    reachable: async () => true,
  };
  await clientVia(coordinator([own as EndorsementPeer, recording, node2 as EndorsementPeer])).enable(
    recordId,
    'right',
    key,
    10,
  );
  assert.ok(signedByNode1.length > 0);
  const old = signedByNode1[0] as Uint8Array;

  const warnings: Array<Record<string, unknown>> = [];
  const log: CoordinatorLog = { warn: (fields) => warnings.push(fields) };
  const answers = [
    async () => old, // a replay of node 1's endorsement of an earlier state
    async () =>
      serializeCoreResponse({ type: 'endorsement', nodeIndex: 1, signature: nodePrimitives.randomBytes(64) }),
    // node 2's valid endorsement of this very state, answered by the peer that stands for node 1
    (request: Uint8Array) => (node2 as EndorsementPeer).endorse(request),
  ];
  for (const [i, answer] of answers.entries()) {
    for (const fanout of ['all', 'quorum-first'] as const) {
      const peers = [own, liar(1, answer), node2];
      const client = clientVia(coordinator(peers as EndorsementPeer[], { fanout, log }));
      await assert.rejects(client.recover(recordId, `wrong-${i}-${fanout}`), WrongPasswordError);
      const state = await committed(recordId);
      assert.ok(certificateVerifies(t.ceremony.config, state), 'the committed certificate verifies');
      assert.ok(
        state.certificate.signatures.every((s) => s.nodeIndex !== 1),
        'no statement of the liar',
      );
    }
  }
  assert.ok(warnings.length >= 6, 'every invalid endorsement is logged');
  for (const warning of warnings) {
    assert.equal(warning.event, 'invalid-endorsement');
    assert.equal(warning.node, 1);
    assert.equal(warning.record, Buffer.from(recordId).toString('hex'));
  }
  // The record is not wedged: the right password still recovers with the honest fleet.
  const recovered = await clientVia(t.fleet.coordinator(0)).recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 6);
});

test('an intent the nodes refuse as a conflict is answered at once, not retried', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  await clientVia(t.fleet.coordinator(0)).enable(recordId, 'right', nodePrimitives.randomBytes(32), 5);
  const old = (await t.store.get(recordId))?.committed as Uint8Array;
  await assert.rejects(clientVia(t.fleet.coordinator(0)).recover(recordId, 'wrong'), WrongPasswordError);
  const slot = await t.store.get(recordId);
  assert.ok(await t.store.compareAndSet(recordId, slot?.revision, { committed: old })); // rollback
  let proposals = 0;
  let endorsements = 0;
  const counted = t.fleet.peers.map(
    (peer): EndorsementPeer => ({
      nodeIndex: peer.nodeIndex,
      endorse: (request) => {
        const type = deserializeCoreRequest(request).type;
        if (type === 'propose') proposals++;
        if (type === 'endorse') endorsements++;
        return peer.endorse(request);
      },
      reachable: () => peer.reachable(),
    }),
  );
  const warnings: Array<Record<string, unknown>> = [];
  const client = clientVia(coordinator(counted, { log: { warn: (fields) => warnings.push(fields) } }));
  await assert.rejects(client.recover(recordId, 'wrong'), UnavailableError);
  assert.equal(proposals, 2, 'the status read and the login-start: no retry rounds');
  assert.equal(endorsements, 3, 'each node asked once');
  assert.equal((await t.store.get(recordId))?.intent, undefined, 'the hopeless intent is dropped');
  assert.ok(warnings.some((w) => w.event === 'intent-refused' && w.reasons === 'conflict,conflict'));
});

test('without a reachable quorum nothing is written: after restart no guess was lost', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const full = clientVia(t.fleet.coordinator(0));
  await full.enable(recordId, 'right', key, 5);
  await assert.rejects(full.recover(recordId, 'wrong'), WrongPasswordError);
  const before = await t.store.get(recordId);
  for (const fanout of ['all', 'quorum-first'] as const) {
    const down = clientVia(
      coordinator([t.fleet.peers[0] as EndorsementPeer, deadPeer(1), deadPeer(2)], { fanout }),
    );
    await assert.rejects(down.recover(recordId, 'wrong'), UnavailableError);
    await assert.rejects(down.recover(recordId, 'right'), UnavailableError);
    await assert.rejects(down.enable(nodePrimitives.randomBytes(16), 'x', key, 5), UnavailableError);
  }
  assert.deepEqual(await t.store.get(recordId), before, 'no intent, no new state');
  const recovered = await full.recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 1, 'only the guess answered before the outage');
  assert.equal(recovered.guessesLeft, 4);
});

test('a certified transition whose commit CAS is lost is still answered, and its intent completed later', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await clientVia(t.fleet.coordinator(0)).enable(recordId, 'right', key, 5);
  // A store whose next commit (a write without an intent) loses, writing nothing, as if another
  // host had written the slot first: the spend's intent stays pending in the store.
  let lose = true;
  let lost = 0;
  const store: RecordStore = {
    get: (id) => t.store.get(id),
    compareAndSet: async (id, expected, next) => {
      if (lose && next.intent === undefined) {
        lose = false;
        lost++;
        return undefined;
      }
      return t.store.compareAndSet(id, expected, next);
    },
    ids: () => t.store.ids(),
    ping: () => t.store.ping(),
    close: async () => undefined,
  };
  const c = new VaultCoordinator({
    store,
    peers: t.fleet.peers,
    own: t.fleet.peers[0] as EndorsementPeer,
    fleet: t.ceremony.config,
  });
  const recovered = await clientVia(c).recover(recordId, 'right');
  assert.equal(lost, 1);
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.guessesLeft, 5);
  const state = (await committed(recordId)).state;
  // KE2 came from the certified spend although its commit was lost; the refund's request found the
  // spend's intent pending and completed it. Enable (1), the one spend, its refund: nothing twice.
  assert.equal(state.version, 3n);
  assert.equal(state.guessesLeft, 5);
});
