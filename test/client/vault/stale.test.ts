// The device's retries (src/client/vault/client.ts): when another writer moves the record between
// two steps of a flow, the vault answers stale and the flow starts again, at most `retries` more
// times, then gives up with UnavailableError (docs/PROTOCOL.md section 10 "Recover", step 3). Here
// the other writer is a wrong guess from another device, made just before the flow's last step.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { VaultTransport } from '../../../src/client/vault/transport.ts';
import { UnavailableError, WrongPasswordError } from '../../../src/errors.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { VaultOp } from '../../../src/protocol/vault/frames.ts';
import { startTestFleet, type TestFleet } from '../../vault-host/helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
});
after(() => t.close());

const direct = (): VaultTransport => ({ exchange: (frame) => t.fleet.coordinator(0).handle(frame) });

/**
 * A transport that, the first `times` times the device sends `op` for `recordId`, lets another
 * device spend a wrong guess on the record first; `sent` counts every `op` frame.
 */
function interleaving(recordId: Uint8Array, op: VaultOp, times: number) {
  const counts = { sent: 0, interleaved: 0 };
  const transport: VaultTransport = {
    async exchange(frame) {
      if (frame[5] === op) {
        counts.sent++;
        if (counts.interleaved < times) {
          counts.interleaved++;
          await assert.rejects(
            t.client({ transport: direct() }).recover(recordId, 'wrong'),
            WrongPasswordError,
          );
        }
      }
      return t.fleet.coordinator(0).handle(frame);
    },
  };
  return { transport, counts };
}

/** The flow gave up, and says what to do (try again). */
const givenUp = (error: unknown) => error instanceof UnavailableError && error.hints.length > 0;

async function enabled(limit = 10) {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await t.client({ transport: direct() }).enable(recordId, 'right', key, limit);
  return { recordId, key };
}

test('a recovery starts again after a stale login finish, and gives up after its retries', async () => {
  const { recordId, key } = await enabled();
  const once = interleaving(recordId, VaultOp.loginFinish, 1);
  const recovered = await t.client({ transport: once.transport, retries: 1 }).recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(once.counts.sent, 2);
  // The interleaved guess stays spent, and so does this device's first KE1 (its refund came stale).
  assert.equal(recovered.failedGuessesSinceLastSuccess, 2);
  const always = interleaving(recordId, VaultOp.loginFinish, Number.POSITIVE_INFINITY);
  await assert.rejects(
    t.client({ transport: always.transport, retries: 1 }).recover(recordId, 'right'),
    givenUp,
  );
  assert.equal(always.counts.sent, 2, 'one try and one retry');
});

test('with no retries, a recovery that meets no other writer succeeds at once', async () => {
  const { recordId, key } = await enabled();
  const quiet = interleaving(recordId, VaultOp.loginFinish, 0);
  const recovered = await t.client({ transport: quiet.transport, retries: 0 }).recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(quiet.counts.sent, 1);
});

test('a password change starts again after a stale step 2, and gives up after its retries', async () => {
  const { recordId, key } = await enabled();
  const once = interleaving(recordId, VaultOp.registerFinish, 1);
  const changed = await t
    .client({ transport: once.transport, retries: 1 })
    .changePassword(recordId, key, 'new');
  assert.equal(once.counts.sent, 2);
  assert.equal(changed.version, changed.incarnation);
  const always = interleaving(recordId, VaultOp.registerFinish, Number.POSITIVE_INFINITY);
  await assert.rejects(
    t.client({ transport: always.transport, retries: 2 }).changePassword(recordId, key, 'newer'),
    givenUp,
  );
  assert.equal(always.counts.sent, 3, 'one try and two retries');
  assert.deepEqual((await t.client({ transport: direct() }).recover(recordId, 'new')).key.exposeBytes(), key);
});

test('a delete starts again after a stale answer, and gives up after its retries', async () => {
  const { recordId, key } = await enabled();
  const always = interleaving(recordId, VaultOp.delete, Number.POSITIVE_INFINITY);
  await assert.rejects(t.client({ transport: always.transport, retries: 1 }).delete(recordId, key), givenUp);
  assert.equal(always.counts.sent, 2, 'one try and one retry');
  assert.equal((await t.client({ transport: direct() }).status(recordId)).status, 'active');
  const once = interleaving(recordId, VaultOp.delete, 1);
  await t.client({ transport: once.transport, retries: 1 }).delete(recordId, key);
  assert.equal(once.counts.sent, 2);
  assert.equal((await t.client({ transport: direct() }).status(recordId)).status, 'deleted');
});
