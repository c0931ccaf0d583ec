// Failure paths of the vault host (docs/ARCHITECTURE.md "Processes and deployment"; docs/PROTOCOL.md §9b): a dead
// minority changes nothing, a dead majority fails closed with nothing certified, and malformed
// frames of any shape get an error answer and leave the store and every NVRAM file unchanged.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { UnavailableError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { deserializeResponseFrame } from '../../src/protocol/vault/frames.ts';
import { CertifiedState, NODE_MARK_PREFIX } from '../../src/protocol/vault/record.ts';
import { VaultCoordinator } from '../../src/vault-host/coordinator.ts';
import { deadPeer, startTestFleet, type TestFleet } from './helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
});
after(() => t.close());

function clientVia(coordinator: VaultCoordinator) {
  const transport: VaultTransport = { exchange: (frame) => coordinator.handle(frame) };
  return t.client({ transport });
}

function coordinatorWith(deadIndexes: number[], fanout: 'all' | 'quorum-first') {
  const peers = t.fleet.peers.map((peer) =>
    deadIndexes.includes(peer.nodeIndex) ? deadPeer(peer.nodeIndex) : peer,
  );
  return new VaultCoordinator({
    store: t.store,
    peers,
    own: t.fleet.peers[0]!,
    fleet: t.ceremony.config,
    fanout,
  });
}

test('with one node of three down, enable and recover still work (both fan-outs)', async () => {
  for (const fanout of ['all', 'quorum-first'] as const) {
    const client = clientVia(coordinatorWith([1], fanout));
    const recordId = nodePrimitives.randomBytes(16);
    const key = nodePrimitives.randomBytes(32);
    await client.enable(recordId, 'pw', key, 3);
    assert.deepEqual((await client.recover(recordId, 'pw')).key.exposeBytes(), key);
  }
});

test('with two nodes of three down, the vault fails closed and writes nothing', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await clientVia(t.fleet.coordinator(0)).enable(recordId, 'pw', key, 3);
  const before = await t.store.get(recordId);
  await assert.rejects(clientVia(coordinatorWith([1, 2], 'all')).recover(recordId, 'pw'), UnavailableError);
  assert.deepEqual(await t.store.get(recordId), before, 'no spend certified, no intent written');
  // Back to full strength, the recovery succeeds with no guess lost to the outage.
  const recovered = await clientVia(t.fleet.coordinator(0)).recover(recordId, 'pw');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.guessesLeft, 3);
  assert.equal(CertifiedState.deserialize(before!.committed!).state.guessesLeft, 3);
});

test('malformed and corrupted frames get an error answer and change nothing', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const coordinator = t.fleet.coordinator(0);
  let real: Uint8Array | undefined;
  const capture: VaultTransport = {
    async exchange(frame) {
      real ??= frame;
      return coordinator.handle(frame);
    },
  };
  await t.client({ transport: capture }).enable(recordId, 'pw', nodePrimitives.randomBytes(32), 3);
  const snapshot = async () => ({
    slot: await t.store.get(recordId),
    marks: t.nvrams.map((nvram) =>
      [...nvram.entries(NODE_MARK_PREFIX)].map(([k, v]) => Buffer.concat([k, v]).toString('hex')).join(),
    ),
  });
  const before = await snapshot();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        fc.tuple(fc.nat(real!.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
          const copy = Uint8Array.from(real!);
          copy[at] = (copy[at] as number) ^ x;
          return copy;
        }),
        fc.nat(real!.length - 1).map((length) => real!.slice(0, length)),
      ),
      async (frame) => {
        const response = deserializeResponseFrame(await coordinator.handle(frame));
        assert.equal(response.kind, 'error');
      },
    ),
    { numRuns: 150 },
  );
  assert.deepEqual(await snapshot(), before);
});
