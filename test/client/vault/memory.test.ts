// The device's memory of each record (DESIGN section 3, last flow point): a password change made by
// another of the user's devices is accepted because its change proof verifies under K; a record
// re-registered by someone without K (after a lock) is reported as tampering.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LockedError, TamperingError, WrongPasswordError } from '../../../src/errors.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { startTestFleet, type TestFleet } from '../../vault-host/helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
  await t.serve();
});
after(() => t.close());

test('a change by another device verifies; the failed-guess figure starts again from that device', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const phone = t.client();
  const laptop = t.client();
  await phone.enable(recordId, 'old', key, 5);
  await laptop.recover(recordId, 'old');
  await phone.changePassword(recordId, key, 'new');
  const recovered = await laptop.recover(recordId, 'new');
  assert.equal(recovered.changedElsewhere, true);
  assert.deepEqual(recovered.key.exposeBytes(), key);
});

test('a record re-created without K after a lock is reported as tampering', async () => {
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
  await assert.rejects(device.recover(recordId, 'operator'), TamperingError);
});
