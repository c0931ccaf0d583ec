// Builds the request/response frame vector of test/vectors/vault/frames.txt from its inputs: the
// client seals with a fixed ephemeral key (RFC 9180 `ekm`) and the core answers with a fixed
// response nonce (its randomness enters through the Platform), so both frames are reproducible.
import { sealRequest } from '../../../src/client/vault/channel.ts';
import { openRequest, sealResponse } from '../../../src/hsm-core/channel.ts';
import type { CoreContext } from '../../../src/hsm-core/context.ts';
import { createNodeHpkeSuite } from '../../../src/hsm-platform/hpke-node.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { FleetMember, FleetPublicInfo } from '../../../src/protocol/fleet.ts';
import { VaultOp } from '../../../src/protocol/vault/frames.ts';
import { LoginStartRequest } from '../../../src/protocol/vault/requests.ts';
import { Outcome, type RecordSummary, type VaultResponse } from '../../../src/protocol/vault/responses.ts';

export interface FrameVectorInputs {
  hpkeIkm: Uint8Array;
  ekm: Uint8Array;
  fleetId: Uint8Array;
  recordId: Uint8Array;
  incarnation: bigint;
  ke1: Uint8Array;
  responseNonce: Uint8Array;
  summary: RecordSummary;
}

export async function buildFrameVector(inputs: FrameVectorInputs) {
  const suite = createNodeHpkeSuite();
  const pair = await suite.kem.deriveKeyPair(inputs.hpkeIkm.slice().buffer);
  const hpkePublicKey = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
  const fleet = new FleetPublicInfo({
    fleetId: inputs.fleetId,
    members: [
      new FleetMember({
        index: 0,
        name: 'node-0',
        region: 'test',
        endorsementPublicKey: new Uint8Array(32).fill(1),
      }),
    ],
    quorum: 1,
    maxGuessLimit: 10,
    hpkePublicKey,
    opaqueServerPublicKey: new Uint8Array(32).fill(2),
  });
  const body = new LoginStartRequest({ incarnation: inputs.incarnation, ke1: inputs.ke1 }).serialize();
  const request = await sealRequest(fleet, VaultOp.loginStart, inputs.recordId, body, inputs.ekm);
  // A core context with only what the channel uses; randomness is the fixed response nonce.
  const ctx = {
    platform: {
      crypto: { ...nodePrimitives, randomBytes: () => Uint8Array.from(inputs.responseNonce) },
      hpke: suite,
    },
    config: { fleetId: inputs.fleetId },
    hpkeKey: pair,
  } as unknown as CoreContext;
  const opened = await openRequest(ctx, request.frame);
  const response: VaultResponse<VaultOp.loginStart> = { outcome: Outcome.stale, summary: inputs.summary };
  const responseFrame = sealResponse(ctx, opened, response);
  return { hpkePublicKey, body, opened, request, responseFrame, response };
}
