// An operator who restores an old copy of the store or hides a record (docs/PROTOCOL.md §12 "Threat model"): no node
// endorses anything on a rolled-back state, so spent guesses cannot be replayed; and a device that
// remembers the record reports tampering instead of trusting the older or missing state.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TamperingError, UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { CertifiedState } from '../../src/protocol/vault/record.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
  await t.serve();
});
after(() => t.close());

async function restore(recordId: Uint8Array, committed: Uint8Array | undefined) {
  const slot = await t.store.get(recordId);
  assert.ok(
    await t.store.compareAndSet(recordId, slot!.revision, committed === undefined ? {} : { committed }),
  );
}

test('a rolled-back store gets no endorsement: spent guesses are not restored', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  await t.client().enable(recordId, 'right', nodePrimitives.randomBytes(32), 3);
  const old = (await t.store.get(recordId))!.committed!;
  await assert.rejects(t.client().recover(recordId, 'guess-1'), WrongPasswordError);
  await assert.rejects(t.client().recover(recordId, 'guess-2'), WrongPasswordError);
  const spent = (await t.store.get(recordId))!.committed!;
  await restore(recordId, old); // the operator restores the backup from before the two guesses
  // A fresh device (no memory): the nodes' marks are ahead of the restored state, so no spend can
  // be certified on it and no KE2 is given: the vault fails closed.
  await assert.rejects(t.client().recover(recordId, 'guess-3'), UnavailableError);
  assert.equal(CertifiedState.deserialize((await t.store.get(recordId))!.committed!).state.guessesLeft, 3);
  // Restoring the real latest state brings the record back exactly where it was.
  await restore(recordId, spent);
  const recovered = await t.client().recover(recordId, 'right');
  assert.equal(recovered.guessesLeft, 1, 'the two failed guesses stay spent');
  assert.equal(recovered.failedGuessesSinceLastSuccess, 2);
});

test('a device that saw a newer version or the record itself reports rollback and hiding', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const device = t.client();
  await device.enable(recordId, 'right', nodePrimitives.randomBytes(32), 3);
  const old = (await t.store.get(recordId))!.committed!;
  await device.recover(recordId, 'right');
  await restore(recordId, old);
  await assert.rejects(device.status(recordId), TamperingError);
  await restore(recordId, undefined); // hidden
  await assert.rejects(device.recover(recordId, 'right'), TamperingError);
});
