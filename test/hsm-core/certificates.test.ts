// Certificate checks inside a core (DESIGN section 4; src/hsm-core/certificates.ts): a quorum of
// distinct members' valid signatures, with this core's own endorsement recognised by its bytes
// instead of verified again, and every other entry verified.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endorsementMessage, verifyCertified } from '../../src/hsm-core/certificates.ts';
import { BoundedMap, type CoreContext, Refusal } from '../../src/hsm-core/context.ts';
import { ed25519PublicKey, nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { toHex } from '../../src/protocol/vault/bytes.ts';
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
    certified: new BoundedMap<true>(8),
    signed: new BoundedMap<Uint8Array>(8),
  } as unknown as CoreContext;
  return { ctx, verified };
}

function sign(ctx: CoreContext, index: number): Signature {
  return {
    nodeIndex: index,
    signature: nodePrimitives.ed25519Sign(seeds[index]!, endorsementMessage(ctx, state)),
  };
}

const hashKey = (ctx: CoreContext) => toHex(ctx.platform.crypto.sha256(state.hashInput()));

test("a core's own endorsement of the state is counted without a signature check", () => {
  const { ctx, verified } = core();
  const own = sign(ctx, 0);
  ctx.signed.set(hashKey(ctx), own.signature);
  assert.equal(
    verifyCertified(ctx, new CertifiedState(state, new Certificate([own, sign(ctx, 1)])), recordId),
    state,
  );
  assert.equal(verified.count, 1); // node 1's signature only
});

test('without a remembered endorsement every signature is checked', () => {
  const { ctx, verified } = core();
  verifyCertified(ctx, new CertifiedState(state, new Certificate([sign(ctx, 0), sign(ctx, 1)])), recordId);
  assert.equal(verified.count, 2);
});

test("other bytes in the core's own entry are checked, fail, and leave no trace in the cache", () => {
  const { ctx } = core();
  const own = sign(ctx, 0);
  ctx.signed.set(hashKey(ctx), own.signature);
  const altered = own.signature.slice();
  altered[63]! ^= 0x10;
  const shown = new CertifiedState(
    state,
    new Certificate([{ nodeIndex: 0, signature: altered }, sign(ctx, 1)]),
  );
  assert.throws(
    () => verifyCertified(ctx, shown, recordId),
    (error) => error instanceof Refusal && error.reason === RefusalReason.badCertificate,
  );
  assert.equal(ctx.certified.has(hashKey(ctx)), false);
  // A remembered signature of another state does not vouch for this one.
  const { ctx: fresh } = core();
  fresh.signed.set(hashKey(fresh), nodePrimitives.randomBytes(64));
  assert.throws(
    () =>
      verifyCertified(
        fresh,
        new CertifiedState(state, new Certificate([{ nodeIndex: 0, signature: altered }, sign(fresh, 1)])),
        recordId,
      ),
    Refusal,
  );
});

test("the core's own endorsement alone is not a quorum", () => {
  const { ctx } = core();
  const own = sign(ctx, 0);
  ctx.signed.set(hashKey(ctx), own.signature);
  assert.throws(
    () => verifyCertified(ctx, new CertifiedState(state, new Certificate([own])), recordId),
    (error) => error instanceof Refusal && error.reason === RefusalReason.badCertificate,
  );
});
