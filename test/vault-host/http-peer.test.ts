// Endorsement peers over HTTP (src/vault-host/http-peer.ts): the node-side route passes only
// endorse requests to its core and returns its answer unchanged; the coordinator side passes every
// answer on unchanged too (the coordinator verifies endorsements: test/vault-host/coordinator.test.ts,
// and over HTTP test/fleet/lying-node.test.ts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { UnavailableError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { READY } from '../../src/observability/probes.ts';
import {
  ProposeAction,
  serializeCoreRequest,
  serializeCoreResponse,
} from '../../src/protocol/vault/core-rpc.ts';
import { Intent, TransitionKind } from '../../src/protocol/vault/intent.ts';
import { EndorsementMessage, RecordState, RecordStatus } from '../../src/protocol/vault/record.ts';
import { RefusalReason } from '../../src/protocol/vault/responses.ts';
import {
  HttpPeer,
  type RefusalEvent,
  RefusalReportingPeer,
  serveEndorse,
} from '../../src/vault-host/http-peer.ts';
import { type RunningNodeServer, startNodeServer } from '../../src/vault-host/node-server.ts';
import type { EndorsementPeer } from '../../src/vault-host/peer.ts';
import { signingFleet } from './helpers/signing-fleet.ts';

const { seeds, fleet } = signingFleet();

const proposed = (guessesLeft: number) =>
  new RecordState({
    recordId: new Uint8Array(16).fill(7),
    version: 1n,
    incarnation: 1n,
    status: RecordStatus.active,
    limit: 10,
    guessesLeft,
    lastSuccess: 1n,
    sealed: Uint8Array.of(1),
  });
const endorseRequest = (state: RecordState) =>
  serializeCoreRequest({
    type: 'endorse',
    intent: new Intent({
      kind: TransitionKind.create,
      from: undefined,
      to: state,
      evidence: Uint8Array.of(9),
    }),
  });
function signature(node: number, state: RecordState): Uint8Array {
  const hash = nodePrimitives.sha256(state.hashInput());
  return nodePrimitives.ed25519Sign(
    seeds[node] as Uint8Array,
    new EndorsementMessage(fleet.fleetId, state.recordId, state.version, hash).serialize(),
  );
}

/** What node 1's stand-in core answers next (a real core's answers are tested in test/hsm-core). */
let next: (request: Uint8Array) => Uint8Array;
const received: Uint8Array[] = [];
const core: EndorsementPeer = {
  nodeIndex: 1,
  async endorse(request) {
    received.push(request);
    return next(request);
  },
  reachable: async () => true,
};

let node: RunningNodeServer;
let peer: HttpPeer;
before(async () => {
  node = await startNodeServer(
    {
      client: async () => ({ frame: new Uint8Array(0), activity: { guessesSpent: 0 } }),
      endorse: (request) => serveEndorse(core, request),
      health: () => ({ node: 'node-1', region: 'eu', ok: true }),
      ready: async () => READY,
    },
    { host: '127.0.0.1', port: 0 },
  );
  peer = new HttpPeer(1, node.url, { timeoutMs: 2000 });
});
after(async () => {
  peer.close();
  await node.close();
});

describe('HTTP endorsement peer', () => {
  it('returns a valid endorsement byte for byte', async () => {
    const state = proposed(10);
    const answer = serializeCoreResponse({
      type: 'endorsement',
      nodeIndex: 1,
      signature: signature(1, state),
    });
    next = () => answer;
    assert.deepEqual(await peer.endorse(endorseRequest(state)), answer);
    assert.deepEqual(received.at(-1), endorseRequest(state));
  });

  it('passes refusals through: they count toward nothing anyway', async () => {
    const refusal = serializeCoreResponse({ type: 'refused', reason: RefusalReason.conflict });
    next = () => refusal;
    assert.deepEqual(await peer.endorse(endorseRequest(proposed(10))), refusal);
  });

  it('passes garbage signatures, endorsements of another state and in another node’s name on unchanged, for the coordinator to judge', async () => {
    const state = proposed(10);
    const lies = [
      serializeCoreResponse({
        type: 'endorsement',
        nodeIndex: 1,
        signature: new Uint8Array(randomBytes(64)),
      }),
      serializeCoreResponse({ type: 'endorsement', nodeIndex: 1, signature: signature(1, proposed(9)) }),
      serializeCoreResponse({ type: 'endorsement', nodeIndex: 2, signature: signature(2, state) }),
      Uint8Array.of(3, 1),
    ];
    for (const lie of lies) {
      next = () => lie;
      assert.deepEqual(await peer.endorse(endorseRequest(state)), lie);
    }
  });

  it('serves only endorse requests to peers (400), never propose or answer', async () => {
    const before = received.length;
    const propose = serializeCoreRequest({
      type: 'propose',
      action: ProposeAction.lock,
      clientFrame: new Uint8Array(0),
      current: undefined,
    });
    await assert.rejects(
      peer.endorse(propose),
      (error) => error instanceof UnavailableError && error.message.includes('HTTP 400'),
    );
    assert.equal(received.length, before, 'the core never saw it');
  });

  it('reports refusals with public facts only, and nothing for endorsements', async () => {
    const events: RefusalEvent[] = [];
    const reporting = new RefusalReportingPeer(peer, (event) => events.push(event));
    const state = proposed(10);
    next = () => serializeCoreResponse({ type: 'endorsement', nodeIndex: 1, signature: signature(1, state) });
    await reporting.endorse(endorseRequest(state));
    next = () => serializeCoreResponse({ type: 'refused', reason: RefusalReason.conflict });
    await reporting.endorse(endorseRequest(state));
    const record = '07'.repeat(16);
    assert.deepEqual(events, [{ node: 1, record, version: '1', transition: 'create', reason: 'conflict' }]);
  });
});
