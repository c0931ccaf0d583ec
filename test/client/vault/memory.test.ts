// The device's memory of each record (docs/PROTOCOL.md §10 "Recover"): a record registered again
// since the device last saw it is reported as possible tampering before any guess is spent; a
// password change made by another of the user's devices is accepted once the user confirms it and
// its change proof verifies under K; a record re-created by someone without K (after a lock) is
// reported as tampering, whatever password the device types.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LockedError, TamperingError, WrongPasswordError } from '../../../src/errors.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { CertifiedState } from '../../../src/protocol/vault/record.ts';
import { startTestFleet, type TestFleet } from '../../vault-host/helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
  await t.serve();
});
after(() => t.close());

/** The record's committed state, read from the store (what no device's answer can fake here). */
async function committed(recordId: Uint8Array) {
  const slot = await t.store.get(recordId);
  assert.ok(slot?.committed);
  return CertifiedState.deserialize(slot.committed).state;
}

const reRegistered = (error: unknown) =>
  error instanceof TamperingError && /registered again since this device last saw it/.test(error.message);

test('a change by another device is reported before a guess is spent, and verifies once confirmed', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const phone = t.client();
  const laptop = t.client();
  await phone.enable(recordId, 'old', key, 5);
  await laptop.recover(recordId, 'old');
  await phone.changePassword(recordId, key, 'new');
  const changed = await committed(recordId);
  await assert.rejects(laptop.status(recordId), reRegistered);
  await assert.rejects(laptop.recover(recordId, 'new'), reRegistered);
  assert.deepEqual(await committed(recordId), changed, 'no guess was spent');
  const recovered = await laptop.recover(recordId, 'new', { passwordChangedElsewhere: true });
  assert.equal(recovered.changedElsewhere, true);
  assert.deepEqual(recovered.key.exposeBytes(), key);
  // The laptop now knows the new incarnation: status and recovery need no confirmation again.
  assert.equal((await laptop.status(recordId)).incarnation, recovered.incarnation);
  assert.deepEqual((await laptop.recover(recordId, 'new')).key.exposeBytes(), key);
});

test('a record re-created without K after a lock is reported as tampering before the real password burns a guess', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const device = t.client();
  await device.enable(recordId, 'right', key, 1);
  await assert.rejects(device.recover(recordId, 'wrong'), WrongPasswordError);
  await assert.rejects(device.recover(recordId, 'wrong again'), LockedError);
  // Someone (the operator, say) locks the exhausted record at once — any host may — and registers
  // it again with a password they know.
  await t.fleet.coordinator(0).lock(recordId);
  await t.client().enable(recordId, 'operator', nodePrimitives.randomBytes(32), 5);
  const substituted = await committed(recordId);
  // The user types their real password: the device warns instead of reporting "wrong password"
  // while the guesses burn on the operator's record.
  await assert.rejects(device.status(recordId), reRegistered);
  await assert.rejects(device.recover(recordId, 'right'), reRegistered);
  const after = await committed(recordId);
  assert.deepEqual(after, substituted, 'no guess was spent on the substituted record');
  assert.equal(after.guessesLeft, 5);
  // Even a user who confirms a change and somehow types the operator's password is told: the new
  // incarnation has no change proof made with this record's K.
  await assert.rejects(
    device.recover(recordId, 'operator', { passwordChangedElsewhere: true }),
    (error: unknown) => error instanceof TamperingError && /without a change proof/.test(error.message),
  );
});
