// What the coordinator tells its observer (docs/OPERATIONS.md "Vault node metrics"): one event per
// client request with its op and outcome (answered, unopenable, no-quorum, failed), the records it
// locks; and the node's VaultMetrics counting them, with the record store and peer calls that
// failed. Real cores and a real SQLite store; the dead nodes and the failing store are stand-ins
// (a node that is down, a store that throws), as in failures.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { UnavailableError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import {
  type CoordinatorObserver,
  type RequestEvent,
  VaultCoordinator,
} from '../../src/vault-host/coordinator.ts';
import { VaultMetrics } from '../../src/vault-host/vault-metrics.ts';
import { deadPeer, startTestFleet, type TestFleet } from './helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
});
after(() => t.close());

/** A coordinator whose events land in `events` and in a VaultMetrics, over `store` and `peers`. */
function observed(options: { store?: RecordStore; dead?: number[] } = {}) {
  const events: RequestEvent[] = [];
  let locks = 0;
  const registry = new Registry();
  const metrics = new VaultMetrics(registry);
  const observer: CoordinatorObserver = {
    request: (event) => {
      events.push(event);
      metrics.request(event);
    },
    recordLocked: () => {
      locks++;
      metrics.recordLocked();
    },
  };
  const peers = t.fleet.peers.map((peer) =>
    metrics.countPeerErrors(options.dead?.includes(peer.nodeIndex) ? deadPeer(peer.nodeIndex) : peer),
  );
  const coordinator = new VaultCoordinator({
    store: metrics.countStoreErrors(options.store ?? t.store),
    peers,
    own: peers[0]!,
    fleet: t.ceremony.config,
    fanout: 'all',
    observer,
    log: { warn: () => undefined },
  });
  const transport: VaultTransport = { exchange: (frame) => coordinator.handle(frame) };
  return { coordinator, events, locks: () => locks, registry, client: t.client({ transport }) };
}

test('reports each request with its op and outcome, guesses spent, and the locks it commits', async () => {
  const host = observed();
  const recordId = nodePrimitives.randomBytes(16);
  await host.client.enable(recordId, 'pw', nodePrimitives.randomBytes(32), 3);
  await host.client.recover(recordId, 'pw');
  assert.deepEqual(
    host.events.map((event) => [VaultOp[event.op!], event.outcome]),
    [
      ['registerStart', 'answered'],
      ['registerFinish', 'answered'],
      ['loginStart', 'answered'],
      ['loginFinish', 'answered'],
    ],
  );
  for (const event of host.events) assert.deepEqual(event.recordId, recordId);
  assert.equal(host.events[2]?.guessesSpent, 1, 'the login start spent a guess');

  await host.coordinator.exchange(Uint8Array.of(1, 2, 3));
  assert.deepEqual(host.events.at(-1), { ...host.events.at(-1), op: undefined, outcome: 'unopenable' });

  await host.coordinator.lock(recordId);
  assert.equal(host.locks(), 1);
  const text = await host.registry.metrics();
  assert.match(text, /^strongroom_vault_operations_total\{op="loginStart",outcome="answered"\} 1$/m);
  assert.match(text, /^strongroom_vault_operations_total\{op="unknown",outcome="unopenable"\} 1$/m);
  assert.match(text, /^strongroom_vault_records_locked_total 1$/m);
  assert.match(text, /^strongroom_vault_guesses_spent_total 1$/m);
});

test('reports no-quorum with a dead majority, and counts the dead peers and the quorum failure', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  await observed().client.enable(recordId, 'pw', nodePrimitives.randomBytes(32), 3);
  // One node down: the recovery works, and the dead node's endorse requests are peer errors.
  const oneDown = observed({ dead: [2] });
  await oneDown.client.recover(recordId, 'pw');
  assert.match(
    await oneDown.registry.metrics(),
    /^strongroom_vault_peer_errors_total\{node="2"\} [1-9]\d*$/m,
  );
  const majorityDown = observed({ dead: [1, 2] });
  await assert.rejects(majorityDown.client.recover(recordId, 'pw'), UnavailableError);
  // A status read needs no endorsement and is answered; every login start fails closed.
  const starts = majorityDown.events.filter((event) => event.op === VaultOp.loginStart);
  assert.ok(starts.length > 0);
  for (const event of starts) assert.equal(event.outcome, 'no-quorum');
  assert.match(await majorityDown.registry.metrics(), /^strongroom_vault_quorum_failures_total [1-9]\d*$/m);
});

test('reports failed when the record store throws, and counts the store error', async () => {
  const failing: RecordStore = {
    get: async () => {
      throw new UnavailableError('the store is down');
    },
    compareAndSet: (id, expected, next) => t.store.compareAndSet(id, expected, next),
    ids: () => t.store.ids(),
    ping: () => t.store.ping(),
    close: async () => undefined,
  };
  const host = observed({ store: failing });
  await assert.rejects(host.client.status(nodePrimitives.randomBytes(16)), UnavailableError);
  assert.ok(host.events.length > 0);
  for (const event of host.events) assert.equal(event.outcome, 'failed');
  assert.match(
    await host.registry.metrics(),
    /^strongroom_vault_store_errors_total\{call="get"\} [1-9]\d*$/m,
  );
});
