// What makes a certificate (src/hsm-core/certificates.ts; docs/PROTOCOL.md section 7): a quorum of
// valid signatures by members of the sealed fleet config over this fleet's EndorsementMessage of
// exactly the shown state, for the record asked about. Entries of unknown nodes count for nothing;
// a verified state is remembered, so a later certificate of it is not checked again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endorsementMessage, stateHash, verifyCertified } from '../../src/hsm-core/certificates.ts';
import { CertifiedMemo } from '../../src/hsm-core/certified-memo.ts';
import { type CoreContext, Refusal } from '../../src/hsm-core/context.ts';
import { ed25519PublicKey, nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { toHex } from '../../src/protocol/vault/bytes.ts';
import {
  Certificate,
  CertifiedState,
  type RecordState,
  type Signature,
} from '../../src/protocol/vault/record.ts';
import { RefusalReason } from '../../src/protocol/vault/responses.ts';
import { fleetId, recordId, state } from '../protocol/vault/samples.ts';

const seeds = [0, 1, 2].map(() => nodePrimitives.randomBytes(32));
const members = seeds.map((seed, index) => ({ index, endorsementPublicKey: ed25519PublicKey(seed) }));

/** Node 0's context as certificate checks see it, in a fleet of three with quorum `quorum`. */
function core(quorum = 2): CoreContext {
  return {
    platform: { crypto: nodePrimitives },
    config: { fleetId, quorum, member: (index: number) => members[index] },
    nodeIndex: 0,
    certifiedMemo: new CertifiedMemo(8),
  } as unknown as CoreContext;
}

function sign(ctx: CoreContext, index: number, of: RecordState = state): Signature {
  return {
    nodeIndex: index,
    signature: nodePrimitives.ed25519Sign(seeds[index]!, endorsementMessage(ctx, of)),
  };
}

const certified = (...signatures: Signature[]) => new CertifiedState(state, new Certificate(signatures));
/** Whether the memo holds the state: a lookup whose own verification always fails. */
const remembered = (ctx: CoreContext) =>
  ctx.certifiedMemo.verifiedOnce(toHex(stateHash(ctx, state)), () => false);
const refused = (reason: RefusalReason) => (error: unknown) =>
  error instanceof Refusal && error.reason === reason;

test('a quorum of member signatures certifies the state, which the core then remembers', () => {
  const ctx = core();
  assert.equal(remembered(ctx), false);
  assert.equal(verifyCertified(ctx, certified(sign(ctx, 1), sign(ctx, 2)), recordId), state);
  assert.equal(remembered(ctx), true);
  // Remembered: a later showing of the same state is not checked again, whatever it carries.
  assert.equal(verifyCertified(ctx, certified(sign(ctx, 1)), recordId), state);
  // All three of three when the quorum is three.
  const all = core(3);
  assert.equal(verifyCertified(all, certified(sign(all, 0), sign(all, 1), sign(all, 2)), recordId), state);
  assert.equal(remembered(all), true);
  assert.throws(
    () => verifyCertified(core(3), certified(sign(all, 0), sign(all, 1)), recordId),
    refused(RefusalReason.badCertificate),
  );
});

test('a certified state shown for another record is refused before any signature is checked', () => {
  const ctx = core();
  const other = Uint8Array.from(recordId);
  other[0]! ^= 1;
  assert.throws(
    () => verifyCertified(ctx, certified(sign(ctx, 1), sign(ctx, 2)), other),
    refused(RefusalReason.wrongRecord),
  );
  assert.equal(remembered(ctx), false);
});

test('entries of nodes outside the sealed membership count for nothing', () => {
  const ctx = core();
  const stranger = {
    nodeIndex: 7,
    signature: nodePrimitives.ed25519Sign(seeds[2]!, endorsementMessage(ctx, state)),
  };
  assert.throws(
    () => verifyCertified(ctx, certified(stranger, sign(ctx, 1)), recordId),
    refused(RefusalReason.badCertificate),
  );
  assert.equal(verifyCertified(ctx, certified(stranger, sign(ctx, 1), sign(ctx, 2)), recordId), state);
});

test("signatures over another state or version, or one node's bytes under another's index, do not count", () => {
  const ctx = core();
  const later = state.with({ version: state.version + 1n });
  assert.throws(
    () => verifyCertified(ctx, certified(sign(ctx, 1, later), sign(ctx, 2, later)), recordId),
    refused(RefusalReason.badCertificate),
  );
  // Node 0's bytes shown as node 1's entry are verified under node 1's key, and fail.
  const own = sign(ctx, 0);
  assert.throws(
    () => verifyCertified(ctx, certified(own, { nodeIndex: 1, signature: own.signature }), recordId),
    refused(RefusalReason.badCertificate),
  );
  assert.equal(remembered(ctx), false);
  assert.equal(verifyCertified(ctx, certified(own, sign(ctx, 2)), recordId), state);
});
