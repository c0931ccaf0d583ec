// The core's answers to client frames (src/hsm-core/answer.ts, docs/PROTOCOL.md §10) for a record
// in each state: absent, active, locked, deleted; and for requests whose version or incarnation
// does not match the certified state shown. Each case asserts the exact sealed outcome.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { fromBase64Url } from '../../src/protocol/vault/bytes.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import type { Intent } from '../../src/protocol/vault/intent.ts';
import { type CertifiedState, RecordStatus } from '../../src/protocol/vault/record.ts';
import {
  DeleteRequest,
  LoginFinishRequest,
  LoginStartRequest,
  RegisterStartRequest,
  RegistrationKind,
  StatusRequest,
} from '../../src/protocol/vault/requests.ts';
import {
  type LoginStartResult,
  Outcome,
  RecordSummary,
  RefusalReason,
} from '../../src/protocol/vault/responses.ts';
import { startTestFleet, type TestFleet } from '../vault-host/helpers/fleet.ts';
import { finishLogin, MaliciousHost, okResult } from './helpers/host.ts';

let t: TestFleet;
let host: MaliciousHost;
before(async () => {
  t = await startTestFleet();
  host = new MaliciousHost(t);
});
after(() => t.close());

/** An enabled record (limit 5) with its certified state and key. */
async function enabled() {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const coordinator = t.fleet.coordinator(0);
  const client = t.client({ transport: { exchange: (frame) => coordinator.handle(frame) } });
  await client.enable(recordId, 'right', key, 5);
  return { client, recordId, key, active: (await host.committed(recordId))! };
}

/**
 * `active` locked by the host (which may always lock), certified by every core. The cores then
 * have endorsed the next version, so this record can be deleted no more: tests that need both use
 * two records.
 */
async function lockedOf(active: CertifiedState) {
  const response = await host.ask(host.peers[0]!, {
    type: 'propose',
    action: 2,
    clientFrame: new Uint8Array(0),
    current: active,
  });
  assert.equal(response.type, 'proposal', 'the host may always lock');
  const locked = await host.certify((response as { intent: Intent }).intent, { commit: false });
  assert.equal(locked.state.status, RecordStatus.locked);
  return locked;
}

/** The sealed answer of node 0 to a client frame for `op` with `body`, shown `current`. */
async function answerTo(
  op: VaultOp,
  recordId: Uint8Array,
  body: Uint8Array,
  current: CertifiedState | undefined,
) {
  const request = await host.seal(op, recordId, body);
  return request.open(await host.answer(request.frame, current));
}

const stale = (shown: CertifiedState) => ({ outcome: Outcome.stale, summary: RecordSummary.of(shown.state) });

const noRecord = { outcome: Outcome.noRecord };
const locked = { outcome: Outcome.locked };
const ok = (shown: CertifiedState) => ({ outcome: Outcome.ok, result: RecordSummary.of(shown.state) });

/** `active` deleted by its owner through the honest client; the certified deleted state. */
async function deletedOf(record: Awaited<ReturnType<typeof enabled>>) {
  await record.client.delete(record.recordId, record.key);
  const deleted = (await host.committed(record.recordId))!;
  assert.equal(deleted.state.status, RecordStatus.deleted);
  return deleted;
}

test('status: no record when none is shown, the summary of any state shown, a malformed body refused', async () => {
  const record = await enabled();
  const status = new StatusRequest().serialize();
  assert.deepEqual(await answerTo(VaultOp.status, record.recordId, status, undefined), noRecord);
  assert.deepEqual(await answerTo(VaultOp.status, record.recordId, status, record.active), ok(record.active));
  assert.deepEqual(await answerTo(VaultOp.status, record.recordId, Uint8Array.of(1), record.active), {
    outcome: Outcome.refused,
    reason: RefusalReason.malformed,
  });
  const deleted = await deletedOf(record);
  assert.deepEqual(await answerTo(VaultOp.status, record.recordId, status, deleted), ok(deleted));
});

test('delete: ok only for the deleted state one above the version the request names', async () => {
  const record = await enabled();
  const request = (fromVersion: bigint) =>
    new DeleteRequest({ fromVersion, proofMac: new Uint8Array(32) }).serialize();
  const { recordId, active } = record;
  assert.deepEqual(
    await answerTo(VaultOp.delete, recordId, request(active.state.version), undefined),
    noRecord,
  );
  // Active, whatever version is named: the delete is not certified yet.
  assert.deepEqual(
    await answerTo(VaultOp.delete, recordId, request(active.state.version), active),
    stale(active),
  );
  assert.deepEqual(
    await answerTo(VaultOp.delete, recordId, request(active.state.version - 1n), active),
    stale(active),
  );
  assert.deepEqual(await answerLocked(VaultOp.delete, request(1n)), locked);
  const deleted = await deletedOf(record);
  const v = deleted.state.version;
  assert.deepEqual(await answerTo(VaultOp.delete, recordId, request(v - 1n), deleted), ok(deleted));
  // Deleted, but not by this request (it names another version): stale, never ok.
  assert.deepEqual(await answerTo(VaultOp.delete, recordId, request(v), deleted), stale(deleted));
  assert.deepEqual(await answerTo(VaultOp.delete, recordId, request(v - 2n), deleted), stale(deleted));
});

test('registration step 1 of a change: no record when absent or deleted, locked when locked', async () => {
  await opaque.ready;
  const record = await enabled();
  const { registrationRequest } = opaque.client.startRegistration({ password: 'new' });
  const change = new RegisterStartRequest({
    kind: RegistrationKind.change,
    registrationRequest: fromBase64Url(registrationRequest),
  }).serialize();
  const { recordId } = record;
  assert.deepEqual(await answerTo(VaultOp.registerStart, recordId, change, undefined), noRecord);
  assert.deepEqual(await answerLocked(VaultOp.registerStart, change), locked);
  const started = await answerTo(VaultOp.registerStart, recordId, change, record.active);
  assert.equal(started.outcome, Outcome.ok, 'a change of an active record starts');
  assert.deepEqual(
    await answerTo(VaultOp.registerStart, recordId, change, await deletedOf(record)),
    noRecord,
  );
});

test('registration step 2: ok only for the active incarnation the request names and made', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const { started: mine, finish } = await host.registerOwn(recordId, undefined);
  const frame = await finish(mine.result.targetVersion);
  const created = await host.certify(await host.propose(frame.frame, undefined));
  assert.equal(created.state.incarnation, mine.result.targetVersion);
  const answered = async (request: Awaited<ReturnType<typeof finish>>, shown: CertifiedState | undefined) =>
    request.open(await host.answer(request.frame, shown));
  assert.deepEqual(await answered(frame, undefined), noRecord);
  assert.deepEqual(await answered(frame, created), ok(created));
  // The same pending blob (same credential id) but another incarnation named: stale, not ok.
  assert.deepEqual(await answered(await finish(created.state.incarnation + 1n), created), stale(created));
  // The incarnation it made, but locked since: stale.
  const lockedState = await lockedOf(created);
  assert.deepEqual(await answered(frame, lockedState), stale(lockedState));
});

test('login start: KE2 only for the incarnation named, in an active state that paid for this KE1', async () => {
  const record = await enabled();
  const { recordId, active } = record;
  const incarnation = active.state.incarnation;
  const login = await host.loginStart(recordId, incarnation, 'right');
  const spent = await host.certify(await host.propose(login.request.frame, active));
  const again = (inc: bigint, shown: CertifiedState | undefined) =>
    answerTo(
      VaultOp.loginStart,
      recordId,
      new LoginStartRequest({ incarnation: inc, ke1: login.ke1 }).serialize(),
      shown,
    );
  const started = okResult(await again(incarnation, spent)) as LoginStartResult;
  assert.deepEqual(started.summary, RecordSummary.of(spent.state));
  // Shown a state that paid for no KE1 (the spend withheld): no KE2.
  assert.deepEqual(await again(incarnation, active), stale(active));
  // The KE1 paid for, but another incarnation named: no KE2.
  assert.deepEqual(await again(incarnation + 1n, spent), stale(spent));
  assert.deepEqual(await again(incarnation, undefined), noRecord);
  const lockedBody = new LoginStartRequest({ incarnation, ke1: login.ke1 }).serialize();
  assert.deepEqual(await answerLocked(VaultOp.loginStart, lockedBody), locked);
  assert.deepEqual(await again(incarnation, await deletedOf(record)), noRecord);
});

test('login finish: the recovery only from the refund of this spend and a KE3 that verifies', async () => {
  await opaque.ready;
  const record = await enabled();
  const { recordId, active } = record;
  const login = await host.loginStart(recordId, active.state.incarnation, 'right');
  const spent = await host.certify(await host.propose(login.request.frame, active));
  const started = okResult(
    await login.request.open(await host.answer(login.request.frame, spent)),
  ) as LoginStartResult;
  const finished = finishLogin(t, recordId, login.clientLoginState, started.ke2, 'right');
  assert.ok(finished, 'the right password verifies');
  const finishWith = (ke3: Uint8Array) =>
    host.seal(
      VaultOp.loginFinish,
      recordId,
      new LoginFinishRequest({ ke3, loginBlob: started.loginBlob }).serialize(),
    );
  const genuine = await finishWith(fromBase64Url(finished.finishLoginRequest));
  const forged = await finishWith(nodePrimitives.randomBytes(64));
  const answered = async (
    request: Awaited<ReturnType<typeof finishWith>>,
    shown: CertifiedState | undefined,
  ) => request.open(await host.answer(request.frame, shown));
  // Before the refund is certified (the spend shown, lastSuccess below its ke1PaidAt): stale.
  assert.deepEqual(await answered(genuine, spent), stale(spent));
  assert.deepEqual(await answered(forged, spent), stale(spent));
  const refunded = await host.certify(await host.propose(genuine.frame, spent));
  assert.equal(refunded.state.lastSuccess, spent.state.ke1PaidAt);
  assert.equal((await answered(genuine, refunded)).outcome, Outcome.ok);
  // The refund shown, but a KE3 that does not verify: refused, no recovery.
  assert.deepEqual(await answered(forged, refunded), {
    outcome: Outcome.refused,
    reason: RefusalReason.badEvidence,
  });
  assert.deepEqual(await answered(genuine, undefined), noRecord);
  const lockedBody = new LoginFinishRequest({
    ke3: fromBase64Url(finished.finishLoginRequest),
    loginBlob: started.loginBlob,
  }).serialize();
  assert.deepEqual(await answerLocked(VaultOp.loginFinish, lockedBody), locked);
  assert.deepEqual(await answered(genuine, await deletedOf(record)), noRecord);
});

/** A locked record of its own, and the sealed answer to `op` with `body` for it. */
async function answerLocked(op: VaultOp, body: Uint8Array) {
  const lockedState = await lockedOf((await enabled()).active);
  return answerTo(op, lockedState.state.recordId, body, lockedState);
}
