// The core's end of the client channel (src/hsm-core/channel.ts; docs/PROTOCOL.md section 5 "Frames"): a
// request sealed by the real client opens to its body and a response secret owned by that one open,
// and anything that does not decode, is for another fleet or does not authenticate is one
// UnopenableFrame; the sealed response opens on the client, a fresh nonce each time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealRequest } from '../../src/client/vault/channel.ts';
import { TamperingError, UnavailableError } from '../../src/errors.ts';
import {
  ErrorCode,
  errorFrame,
  openRequest,
  sealResponse,
  UnopenableFrame,
} from '../../src/hsm-core/channel.ts';
import type { CoreContext } from '../../src/hsm-core/context.ts';
import { createNodeHpkeSuite } from '../../src/hsm-platform/hpke-node.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import type { FleetPublicInfo } from '../../src/protocol/fleet.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import { Outcome, RefusalReason } from '../../src/protocol/vault/responses.ts';

const hpke = createNodeHpkeSuite();
const recordId = nodePrimitives.randomBytes(16);

/** A core context with what the channel uses (a real HPKE key pair), and the client's view of it. */
async function channel() {
  const hpkeKey = await hpke.kem.generateKeyPair();
  const fleetId = nodePrimitives.randomBytes(16);
  const ctx = {
    platform: { crypto: nodePrimitives, hpke },
    config: { fleetId },
    hpkeKey,
  } as unknown as CoreContext;
  // sealRequest reads only these two fields of the pinned fleet.pub.
  const fleet = {
    fleetId,
    hpkePublicKey: new Uint8Array(await hpke.kem.serializePublicKey(hpkeKey.publicKey)),
  } as FleetPublicInfo;
  return { ctx, fleet };
}

const body = Uint8Array.of(1, 2, 3, 4, 5);
/** Where the record id starts in a request frame: magic (4), version, op, fleet id (16), its length. */
const RECORD_ID_OFFSET = 4 + 1 + 1 + 16 + 1;

/** Checks an UnopenableFrame whose message matches `pattern`. */
const unopenable = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof UnopenableFrame, `expected UnopenableFrame, got ${error}`);
  assert.match(error.message, pattern);
  return true;
};

test('a request sealed by the client opens to its header and body; its response opens on the client', async () => {
  const { ctx, fleet } = await channel();
  const request = await sealRequest(fleet, VaultOp.status, recordId, body);
  const opened = await openRequest(ctx, request.frame);
  assert.equal(opened.frame.op, VaultOp.status);
  assert.deepEqual(opened.frame.recordId, recordId);
  assert.deepEqual(opened.body, body);
  assert.equal(opened.responseSecret.length, 32);
  const response = { outcome: Outcome.refused, reason: RefusalReason.badProof } as const;
  const first = sealResponse(ctx, opened, response);
  const second = sealResponse(ctx, opened, response);
  assert.notDeepEqual(first, second, 'each response draws its own nonce');
  assert.deepEqual(await request.open(first), response);
  assert.deepEqual(await request.open(second), response);
  // A response sealed to another request's context does not open for this one.
  const other = await sealRequest(fleet, VaultOp.status, recordId, body);
  const otherOpened = await openRequest(ctx, other.frame);
  await assert.rejects(request.open(sealResponse(ctx, otherOpened, response)), TamperingError);
});

test('each open of the same frame bytes owns its response secret: zeroing one leaves the other whole', async () => {
  const { ctx, fleet } = await channel();
  const request = await sealRequest(fleet, VaultOp.status, recordId, body);
  const first = await openRequest(ctx, request.frame);
  const second = await openRequest(ctx, Uint8Array.from(request.frame));
  assert.notEqual(first.responseSecret, second.responseSecret);
  assert.deepEqual(first.responseSecret, second.responseSecret);
  first.responseSecret.fill(0);
  assert.equal(
    second.responseSecret.every((b) => b === 0),
    false,
  );
  const response = { outcome: Outcome.refused, reason: RefusalReason.badProof } as const;
  assert.deepEqual(await request.open(sealResponse(ctx, second, response)), response);
});

test('a frame that does not decode, is for another fleet, or does not authenticate is unopenable', async () => {
  const { ctx, fleet } = await channel();
  const request = await sealRequest(fleet, VaultOp.status, recordId, body);
  await assert.rejects(openRequest(ctx, request.frame.subarray(0, 10)), unopenable(/frame/));
  const otherFleet = { ...fleet, fleetId: nodePrimitives.randomBytes(16) } as FleetPublicInfo;
  const misrouted = await sealRequest(otherFleet, VaultOp.status, recordId, body);
  await assert.rejects(openRequest(ctx, misrouted.frame), unopenable(/another fleet/));
  const lastByte = Uint8Array.from(request.frame);
  lastByte[lastByte.length - 1]! ^= 1;
  await assert.rejects(openRequest(ctx, lastByte), unopenable(/did not open/));
  // The header is the HPKE aad: another record id (same length) fails the tag.
  const header = Uint8Array.from(request.frame);
  header[RECORD_ID_OFFSET]! ^= 1;
  await assert.rejects(openRequest(ctx, header), unopenable(/did not open/));
  // Sealed to another core's HPKE key: it does not open here.
  const { fleet: stranger } = await channel();
  const foreign = await sealRequest(
    { ...stranger, fleetId: fleet.fleetId } as FleetPublicInfo,
    VaultOp.status,
    recordId,
    body,
  );
  await assert.rejects(openRequest(ctx, foreign.frame), unopenable(/did not open/));
});

test('error frames are unsealed: unopenable reads as tampering, unavailable as unavailable', async () => {
  const { fleet } = await channel();
  const request = await sealRequest(fleet, VaultOp.status, recordId, body);
  await assert.rejects(request.open(errorFrame(ErrorCode.unopenable)), TamperingError);
  await assert.rejects(request.open(errorFrame(ErrorCode.unavailable)), UnavailableError);
});
