// Certificate checks inside a core (docs/PROTOCOL.md §7; src/hsm-core/certificates.ts): a quorum of
// distinct members' valid signatures over the state's Endorsement, for the record at hand; a state
// verified once is accepted again from the core's memo, and only then.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endorsementMessage, verifyCertified } from '../../src/hsm-core/certificates.ts';
import { CertifiedMemo } from '../../src/hsm-core/certified-memo.ts';
import { type CoreContext, Refusal } from '../../src/hsm-core/context.ts';
import { ed25519PublicKey, nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { Certificate, CertifiedState, type Signature } from '../../src/protocol/vault/record.ts';
import { RefusalReason } from '../../src/protocol/vault/responses.ts';
import { fleetId, recordId, state } from '../protocol/vault/samples.ts';

const seeds = [0, 1, 2].map(() => nodePrimitives.randomBytes(32));
const members = seeds.map((seed, index) => ({ index, endorsementPublicKey: ed25519PublicKey(seed) }));

/** Node 0's core context with only what certificate checks use, counting signature checks. */
function core() {
  const verified = { count: 0 };
  const ctx = {
    platform: {
      crypto: {
        ...nodePrimitives,
        ed25519Verify: (key: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
          verified.count++;
          return nodePrimitives.ed25519Verify(key, message, signature);
        },
      },
    },
    config: { fleetId, quorum: 2, member: (index: number) => members[index] },
    nodeIndex: 0,
    certifiedMemo: new CertifiedMemo(8),
  } as unknown as CoreContext;
  return { ctx, verified };
}

function sign(ctx: CoreContext, index: number): Signature {
  return {
    nodeIndex: index,
    signature: nodePrimitives.ed25519Sign(seeds[index]!, endorsementMessage(ctx, state)),
  };
}

const badCertificate = (error: unknown) =>
  error instanceof Refusal && error.reason === RefusalReason.badCertificate;

test('a quorum of valid signatures certifies the state; shown again it costs no signature check', () => {
  const { ctx, verified } = core();
  const shown = new CertifiedState(state, new Certificate([sign(ctx, 0), sign(ctx, 1)]));
  assert.equal(verifyCertified(ctx, shown, recordId), state);
  assert.equal(verified.count, 2);
  // Another certificate of the same state (other signers) is accepted from the memo.
  const again = new CertifiedState(state, new Certificate([sign(ctx, 1), sign(ctx, 2)]));
  assert.equal(verifyCertified(ctx, again, recordId), state);
  assert.equal(verified.count, 2);
});

test('one altered signature breaks the quorum, and the failure is not remembered', () => {
  const { ctx, verified } = core();
  const own = sign(ctx, 0);
  const altered = own.signature.slice();
  altered[63]! ^= 0x10;
  const shown = new CertifiedState(
    state,
    new Certificate([{ nodeIndex: 0, signature: altered }, sign(ctx, 1)]),
  );
  assert.throws(() => verifyCertified(ctx, shown, recordId), badCertificate);
  assert.throws(() => verifyCertified(ctx, shown, recordId), badCertificate);
  assert.equal(verified.count, 4, 'each showing is verified in full');
});

test('one signature alone, or signatures of non-members, are not a quorum', () => {
  const { ctx } = core();
  assert.throws(
    () => verifyCertified(ctx, new CertifiedState(state, new Certificate([sign(ctx, 0)])), recordId),
    badCertificate,
  );
  // Node 7 is not in the sealed membership: its entry counts for nothing, whatever it holds.
  const stranger = { nodeIndex: 7, signature: sign(ctx, 1).signature };
  assert.throws(
    () =>
      verifyCertified(ctx, new CertifiedState(state, new Certificate([sign(ctx, 0), stranger])), recordId),
    badCertificate,
  );
});

test('a certified state shown for another record is refused before any signature check', () => {
  const { ctx, verified } = core();
  const shown = new CertifiedState(state, new Certificate([sign(ctx, 0), sign(ctx, 1)]));
  const other = Uint8Array.from(recordId);
  other[0]! ^= 1;
  assert.throws(
    () => verifyCertified(ctx, shown, other),
    (error: unknown) => error instanceof Refusal && error.reason === RefusalReason.wrongRecord,
  );
  assert.equal(verified.count, 0);
});
