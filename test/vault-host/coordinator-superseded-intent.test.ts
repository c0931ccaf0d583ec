// A host that finishes a pending intent it read, only to have the nodes refuse it because other hosts
// finished it and moved on meanwhile, must go back to step 1 of docs/PROTOCOL.md §9 on what the
// store holds now: finish the newer pending intent it finds there, never write its own over it.
// Overwriting it would drop a transition a quorum may already have endorsed (a paid spend or a
// refund): the nodes would then refuse every other state at that version ("conflict", with no
// rollback or fork), and the record would be wedged until `fleet repair`.
// Real cores and a real SQLite store (the in-process fleet); two stand-ins, each said below: a store
// whose commits fail (a host killed between its endorsements and its commit), and peers that hold a
// host's endorse requests (a slow host), so the interleaving happens every run.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { InMemoryRecordMemory } from '../../src/client/vault/memory.ts';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { deserializeCoreRequest } from '../../src/protocol/vault/core-rpc.ts';
import { CertifiedState, NodeMark, nodeMarkKey } from '../../src/protocol/vault/record.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import { VaultCoordinator } from '../../src/vault-host/coordinator.ts';
import type { EndorsementPeer } from '../../src/vault-host/peer.ts';
import { eventually } from '../helpers/eventually.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
});
after(() => t.close());

const memory = new InMemoryRecordMemory();

/** A client whose frames go to `coordinator` (one vault host). */
function clientOf(coordinator: VaultCoordinator) {
  const transport: VaultTransport = { exchange: (frame) => coordinator.handle(frame) };
  return t.client({ transport, memory, retries: 0 });
}

function host(options: { store?: RecordStore; peers?: readonly EndorsementPeer[] } = {}) {
  const peers = options.peers ?? (t.fleet.peers as readonly EndorsementPeer[]);
  return new VaultCoordinator({
    store: options.store ?? t.store,
    peers,
    own: peers[0] as EndorsementPeer,
    fleet: t.ceremony.config,
    fanout: 'all',
    log: { warn: () => undefined },
  });
}

/**
 * Stand-in for a host killed -9 after a quorum endorsed its intent and before its commit: every
 * commit (a write without an intent) fails, so the endorsed intent stays pending in the store.
 */
const crashingBeforeCommit: RecordStore = {
  get: (id) => t.store.get(id),
  compareAndSet: async (id, expected, next) => {
    if (next.intent === undefined) throw new UnavailableError('the host died before its commit');
    return t.store.compareAndSet(id, expected, next);
  },
  ids: () => t.store.ids(),
  ping: () => t.store.ping(),
  close: async () => undefined,
};

/** Stand-in for a slow host: its endorse requests wait until `release()`; the cores are real. */
function heldPeers() {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held = 0;
  let allHeld: () => void = () => undefined;
  const everyPeerAsked = new Promise<void>((resolve) => {
    allHeld = resolve;
  });
  const peers = t.fleet.peers.map(
    (peer): EndorsementPeer => ({
      nodeIndex: peer.nodeIndex,
      inProcess: true,
      reachable: () => peer.reachable(),
      endorse: async (request) => {
        if (deserializeCoreRequest(request).type === 'endorse') {
          if (++held === t.fleet.peers.length) allHeld();
          await gate;
        }
        return peer.endorse(request);
      },
    }),
  );
  return { peers, release, everyPeerAsked };
}

function markedVersion(node: number, recordId: Uint8Array): bigint | undefined {
  const bytes = t.nvrams[node]?.get(nodeMarkKey(recordId));
  return bytes === undefined ? undefined : NodeMark.deserialize(bytes).state.version;
}

async function committed(recordId: Uint8Array): Promise<CertifiedState> {
  const slot = await t.store.get(recordId);
  assert.ok(slot?.committed, 'the record has a committed state');
  return CertifiedState.deserialize(slot.committed);
}

test('a host whose pending intent was finished by others finishes the newer pending intent, never overwrites it', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const honest = host();
  await clientOf(honest).enable(recordId, 'right', nodePrimitives.randomBytes(32), 5); // version 1
  const crashing = host({ store: crashingBeforeCommit });

  // Guess a: endorsed by every node at version 2, never committed (its host died).
  await assert.rejects(clientOf(crashing).recover(recordId, 'a'), UnavailableError);
  assert.equal((await committed(recordId)).state.version, 1n);

  // Guess b, on a slow host: it reads the slot, finds guess a's intent and asks the nodes to
  // endorse it; its requests are held.
  const slow = heldPeers();
  const guessB = clientOf(host({ peers: slow.peers })).recover(recordId, 'b');
  await slow.everyPeerAsked;

  // Meanwhile another host finishes guess a (version 2), and guess c is endorsed at version 3 by
  // every node and left pending (its host died too).
  assert.equal((await clientOf(honest).status(recordId)).version, 2);
  await assert.rejects(clientOf(crashing).recover(recordId, 'c'), UnavailableError);
  await eventually(
    async () => [0, 1, 2].map((node) => markedVersion(node, recordId)),
    (versions) => versions.every((version) => version === 3n),
    'every node marks guess c at version 3',
  );

  // The slow host's requests arrive: every node refuses guess a's intent (they are past it). The
  // host must then finish guess c's pending intent and spend guess b after it.
  slow.release();
  await assert.rejects(guessB, (error) => error instanceof WrongPasswordError && error.guessesLeft === 2);
  const state = (await committed(recordId)).state;
  assert.equal(state.version, 4n, 'enable, guesses a, c and b: one version each');
  assert.equal(state.guessesLeft, 2, 'exactly three guesses counted');

  // Nothing is wedged: the next guess is counted as well.
  await assert.rejects(
    clientOf(honest).recover(recordId, 'd'),
    (error) => error instanceof WrongPasswordError && error.guessesLeft === 1,
  );
});
