// The device's memory of each record (docs/PROTOCOL.md §10 "Recover"): a record registered again
// since the device last saw it is reported as possible tampering before any guess is spent; a
// password change made by another of the user's devices is accepted once the user confirms it and
// its change proof verifies under K; a record re-created by someone without K (after a lock) is
// reported as tampering, whatever password the device types.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { aesGcmSeal, hkdf, hmacSha256 } from '../../../src/client/vault/crypto.ts';
import { LockedError, TamperingError, WrongPasswordError } from '../../../src/errors.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { concat, fromBase64Url, toBase64Url, toHex } from '../../../src/protocol/vault/bytes.ts';
import { VaultOp } from '../../../src/protocol/vault/frames.ts';
import { Labels } from '../../../src/protocol/vault/labels.ts';
import { CertifiedState } from '../../../src/protocol/vault/record.ts';
import { RegisterFinishRequest, RegistrationKind } from '../../../src/protocol/vault/requests.ts';
import { changeContent, proofMessage } from '../../../src/protocol/vault/sealed.ts';
import { MaliciousHost, okResult } from '../../hsm-core/helpers/host.ts';
import { startTestFleet, TEST_ARGON2ID, type TestFleet } from '../../vault-host/helpers/fleet.ts';

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

// The error says what to do next (recover confirming a change made elsewhere, or stop), not only what was seen.
const reRegistered = (error: unknown) =>
  error instanceof TamperingError &&
  /registered again since this device last saw it/.test(error.message) &&
  error.hints.length === 2;

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

/**
 * The host's own change of the record at `shown`: step 1 as any client, step 2 built by hand with a
 * proof MAC under `proofKey`'s auth_key (what the cores check) and the wrapped K holding `wrapped`.
 */
async function hostChange(
  recordId: Uint8Array,
  shown: CertifiedState,
  password: string,
  proofKey: Uint8Array,
  wrapped: Uint8Array,
) {
  const host = new MaliciousHost(t);
  const { clientRegistrationState, result } = await host.registerStart(
    recordId,
    RegistrationKind.change,
    shown,
    password,
  );
  const finished = opaque.client.finishRegistration({
    clientRegistrationState,
    registrationResponse: toBase64Url(result.registrationResponse),
    password,
    identifiers: { client: toHex(recordId), server: toHex(t.publicInfo.fleetId) },
    keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
  });
  const wrapKey = await hkdf(fromBase64Url(finished.exportKey), new Uint8Array(0), Labels.wrapKey, 32);
  const nonce = nodePrimitives.randomBytes(12);
  const wrappedK = concat(nonce, await aesGcmSeal(wrapKey, nonce, wrapped, recordId));
  const registrationRecord = fromBase64Url(finished.registrationRecord);
  const authKey = nodePrimitives.randomBytes(32);
  const limit = 5;
  const contentHash = nodePrimitives.sha256(changeContent(registrationRecord, wrappedK, authKey, limit));
  const proofMac = await hmacSha256(
    await hkdf(proofKey, new Uint8Array(0), Labels.vaultAuth, 32),
    proofMessage({
      op: VaultOp.registerFinish,
      fleetId: t.publicInfo.fleetId,
      recordId,
      incarnation: shown.state.incarnation,
      fromVersion: result.targetVersion - 1n,
      contentHash,
    }),
  );
  const request = await host.seal(
    VaultOp.registerFinish,
    recordId,
    new RegisterFinishRequest({
      kind: RegistrationKind.change,
      targetVersion: result.targetVersion,
      registrationResponseHash: nodePrimitives.sha256(result.registrationResponse),
      limit,
      registrationRecord,
      wrappedK,
      authKey,
      proofMac,
      pendingBlob: result.pendingBlob,
    }).serialize(),
  );
  okResult(await request.open(await t.fleet.coordinator(0).handle(request.frame)));
}

test('a change proof this K does not verify is tampering, even confirmed and with the new password', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const device = t.client();
  await device.enable(recordId, 'right', key, 1);
  await assert.rejects(device.recover(recordId, 'wrong'), WrongPasswordError);
  await t.fleet.coordinator(0).lock(recordId);
  // The operator re-creates the record with a K of its own, then changes it: the change's proof is
  // right for the cores (under the created record's auth_key), but the K it wraps is another one.
  const operatorKey = nodePrimitives.randomBytes(32);
  await t.client().enable(recordId, 'operator', operatorKey, 5);
  const created = (await new MaliciousHost(t).committed(recordId))!;
  await hostChange(recordId, created, 'operator-2', operatorKey, nodePrimitives.randomBytes(32));
  const changed = await committed(recordId);
  assert.ok(changed.changeProof, 'the record carries a change proof');
  assert.equal(changed.changeProof.fromVersion + 1n, changed.incarnation);
  await assert.rejects(
    device.recover(recordId, 'operator-2', { passwordChangedElsewhere: true }),
    (error: unknown) => error instanceof TamperingError && /made without this backup key/.test(error.message),
  );
});

test('a wrapped K that does not open under the password is tampering, not a key', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const device = t.client();
  await device.enable(recordId, 'right', key, 3);
  // The host's own create after a lock: its wrapped K is random bytes.
  await t.fleet.coordinator(0).lock(recordId);
  const host = new MaliciousHost(t);
  const own = await host.registerOwn(recordId, await host.committed(recordId));
  const frame = await own.finish();
  okResult(await frame.open(await t.fleet.coordinator(0).handle(frame.frame)));
  await assert.rejects(
    device.recover(recordId, 'host password', { passwordChangedElsewhere: true }),
    (error: unknown) => error instanceof TamperingError && /did not open/.test(error.message),
  );
});
