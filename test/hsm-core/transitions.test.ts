// The transition table as the cores compute it (src/hsm-core/transitions.ts; docs/PROTOCOL.md section 11
// "Transition table"): every transition a quorum certifies leads to exactly the state the table gives,
// field by field, and each row's precondition and evidence check refuses with its own reason.
// Proposer and endorsers run the same code, so only a test that knows the table independently can
// tell a wrong next state from a right one; this file is that test (docs/MUTATION.md).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { hkdf, hmacSha256, sha256 } from '../../src/client/vault/crypto.ts';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { fromBase64Url, toBase64Url, toHex } from '../../src/protocol/vault/bytes.ts';
import { ProposeAction } from '../../src/protocol/vault/core-rpc.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import { Intent, TransitionKind } from '../../src/protocol/vault/intent.ts';
import { Labels } from '../../src/protocol/vault/labels.ts';
import { type CertifiedState, type RecordState, RecordStatus } from '../../src/protocol/vault/record.ts';
import {
  DeleteRequest,
  LoginFinishRequest,
  RegisterFinishRequest,
  RegisterStartRequest,
  RegistrationKind,
  StatusRequest,
} from '../../src/protocol/vault/requests.ts';
import {
  type LoginStartResult,
  Outcome,
  RefusalReason,
  type RegisterStartResult,
} from '../../src/protocol/vault/responses.ts';
import { proofMessage } from '../../src/protocol/vault/sealed.ts';
import { startTestFleet, TEST_ARGON2ID, type TestFleet } from '../vault-host/helpers/fleet.ts';
import { MaliciousHost, okResult } from './helpers/host.ts';

let t: TestFleet;
let host: MaliciousHost;
before(async () => {
  t = await startTestFleet();
  host = new MaliciousHost(t);
});
after(() => t.close());

/** An honest client talking in-process to coordinator 0. */
function honestClient() {
  const coordinator = t.fleet.coordinator(0);
  const transport: VaultTransport = { exchange: (frame) => coordinator.handle(frame) };
  return t.client({ transport });
}

/** An honest client and a fresh record it enabled. */
async function enabled(limit: number) {
  const client = honestClient();
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await client.enable(recordId, 'right', key, limit);
  return { client, recordId, key };
}

async function committed(recordId: Uint8Array): Promise<CertifiedState> {
  const current = await host.committed(recordId);
  assert.ok(current !== undefined, 'the record has a committed state');
  return current;
}

/** A guess the host pays for itself with its own KE1, certified and committed. */
async function hostSpend(recordId: Uint8Array): Promise<CertifiedState> {
  const current = await committed(recordId);
  const login = await host.loginStart(recordId, current.state.incarnation, 'a wrong guess');
  return host.certify(await host.propose(login.request.frame, current));
}

/** The clear fields of a state, for comparing with what the table says. */
function fields(state: RecordState) {
  return {
    version: state.version,
    incarnation: state.incarnation,
    status: state.status,
    limit: state.limit,
    guessesLeft: state.guessesLeft,
    lastSuccess: state.lastSuccess,
    ke1PaidAt: state.ke1PaidAt,
    paid: state.ke1Hash !== undefined,
    sealed: state.sealed.length > 0,
    changeProof:
      state.changeProof === undefined
        ? undefined
        : { fromIncarnation: state.changeProof.fromIncarnation, fromVersion: state.changeProof.fromVersion },
  };
}

const active = { status: RecordStatus.active, sealed: true, paid: false, ke1PaidAt: undefined };

/** What one core answers to an endorse request for `intent`. */
const endorseAtOne = (intent: Intent) => host.ask(host.peers[0]!, { type: 'endorse', intent });
const refused = (reason: RefusalReason) => ({ type: 'refused', reason });

test('create, spend, refund, change, delete and create again lead to exactly the states of the table', async () => {
  const { client, recordId, key } = await enabled(5);
  const created = (await committed(recordId)).state;
  assert.deepEqual(fields(created), {
    ...active,
    version: 1n,
    incarnation: 1n,
    limit: 5,
    guessesLeft: 5,
    lastSuccess: 1n,
    changeProof: undefined,
  });
  // A spend takes one guess and records which KE1 paid at which version.
  const spent = (await hostSpend(recordId)).state;
  assert.deepEqual(fields(spent), {
    ...fields(created),
    version: 2n,
    guessesLeft: 4,
    paid: true,
    ke1PaidAt: 2n,
  });
  // The right password: a spend (3 left at version 3) and its refund (back to 4, not to the limit).
  await client.recover(recordId, 'right');
  const refunded = (await committed(recordId)).state;
  assert.deepEqual(fields(refunded), { ...fields(created), version: 4n, guessesLeft: 4, lastSuccess: 3n });
  // A change starts a new incarnation at the next version with the full limit and a change proof.
  await client.changePassword(recordId, key, 'new', 3);
  const changed = (await committed(recordId)).state;
  assert.deepEqual(fields(changed), {
    ...active,
    version: 5n,
    incarnation: 5n,
    limit: 3,
    guessesLeft: 3,
    lastSuccess: 5n,
    changeProof: { fromIncarnation: 1n, fromVersion: 4n },
  });
  // Delete from a state that still carries an unrefunded spend: the spend is cleared with the secrets.
  await hostSpend(recordId);
  await client.delete(recordId, key);
  const deleted = (await committed(recordId)).state;
  assert.deepEqual(fields(deleted), {
    ...fields(changed),
    version: 7n,
    guessesLeft: 2,
    status: RecordStatus.deleted,
    sealed: false,
  });
  // A create over a deleted record continues its version chain, as a new incarnation.
  await client.enable(recordId, 'again', nodePrimitives.randomBytes(32), 2);
  assert.deepEqual(fields((await committed(recordId)).state), {
    ...active,
    version: 8n,
    incarnation: 8n,
    limit: 2,
    guessesLeft: 2,
    lastSuccess: 8n,
    changeProof: undefined,
  });
});

test('a lock clears the secrets and any unrefunded spend; nothing moves a locked record', async () => {
  const { recordId } = await enabled(3);
  const spent = await hostSpend(recordId);
  const proposed = await host.ask(host.peers[1]!, {
    type: 'propose',
    action: ProposeAction.lock,
    clientFrame: new Uint8Array(0),
    current: spent,
  });
  assert.equal(proposed.type, 'proposal');
  const lock = (proposed as { intent: Intent }).intent;
  assert.equal(lock.kind, TransitionKind.lock);
  assert.deepEqual(fields(lock.to), {
    ...fields(spent.state),
    version: 3n,
    status: RecordStatus.locked,
    sealed: false,
    paid: false,
    ke1PaidAt: undefined,
  });
  const locked = await host.certify(lock);
  // From a locked state every kind is refused as a bad transition, before any evidence is read.
  const next = locked.state.with({ version: locked.state.version + 1n });
  const paidNext = next.with({ ke1Hash: nodePrimitives.randomBytes(32), ke1PaidAt: next.version });
  for (const [kind, to] of [
    [TransitionKind.spend, paidNext],
    [TransitionKind.lock, next],
    [TransitionKind.refund, next],
    [TransitionKind.delete, next],
    [TransitionKind.change, next],
  ] as const) {
    assert.deepEqual(
      await endorseAtOne(new Intent({ kind, from: locked, to, evidence: new Uint8Array(0) })),
      refused(RefusalReason.badTransition),
      `${TransitionKind[kind]} from a locked state`,
    );
  }
});

test('a spend needs a guess left and the KE1 hash it pays for', async () => {
  const { recordId } = await enabled(1);
  // The last guess can be spent...
  const spent = await hostSpend(recordId);
  assert.equal(spent.state.guessesLeft, 0);
  // ...but not one more.
  const version = spent.state.version + 1n;
  const beyond = spent.state.with({ version, ke1Hash: nodePrimitives.randomBytes(32), ke1PaidAt: version });
  assert.deepEqual(
    await endorseAtOne(
      new Intent({ kind: TransitionKind.spend, from: spent, to: beyond, evidence: new Uint8Array(0) }),
    ),
    refused(RefusalReason.badTransition),
  );
  // A spend whose next state names no KE1 is no spend.
  const { recordId: other } = await enabled(2);
  const current = await committed(other);
  assert.deepEqual(
    await endorseAtOne(
      new Intent({
        kind: TransitionKind.spend,
        from: current,
        to: current.state.with({ version: current.state.version + 1n, guessesLeft: 1 }),
        evidence: new Uint8Array(0),
      }),
    ),
    refused(RefusalReason.badTransition),
  );
});

test('a create over an active record is refused before its evidence is read', async () => {
  const { recordId } = await enabled(2);
  const current = await committed(recordId);
  assert.deepEqual(
    await endorseAtOne(
      new Intent({
        kind: TransitionKind.create,
        from: current,
        to: current.state.with({ version: current.state.version + 1n }),
        evidence: new Uint8Array(0),
      }),
    ),
    refused(RefusalReason.badTransition),
  );
});

test("a delete's evidence must be a delete frame for this record and version, with a proof under K", async () => {
  const { recordId, key } = await enabled(3);
  await hostSpend(recordId);
  const current = await committed(recordId);
  const { version, incarnation } = current.state;
  const to = current.state.with({
    version: version + 1n,
    status: RecordStatus.deleted,
    sealed: new Uint8Array(0),
    ke1Hash: undefined,
    ke1PaidAt: undefined,
  });
  const deleteWith = async (evidence: Uint8Array) =>
    endorseAtOne(new Intent({ kind: TransitionKind.delete, from: current, to, evidence }));
  // The proof MAC of docs/PROTOCOL.md section 10 (Delete), made here as the client makes it: over the
  // from-state's incarnation and version, under auth_key = HKDF(K, "", vault-auth).
  const authKey = await hkdf(key, new Uint8Array(0), Labels.vaultAuth, 32);
  const proofFor = async (fromVersion: bigint) =>
    hmacSha256(
      authKey,
      proofMessage({
        op: VaultOp.delete,
        fleetId: t.publicInfo.fleetId,
        recordId,
        incarnation,
        fromVersion,
        contentHash: await sha256(new Uint8Array(0)),
      }),
    );
  const proofMac = await proofFor(version);
  const frame = async (op: VaultOp, id: Uint8Array, body: Uint8Array) =>
    (await host.seal(op, id, body)).frame;
  // Another op's frame is bad evidence (not a malformed delete).
  assert.deepEqual(
    await deleteWith(await frame(VaultOp.status, recordId, new StatusRequest().serialize())),
    refused(RefusalReason.badEvidence),
  );
  // A delete frame for another record.
  const otherRecord = nodePrimitives.randomBytes(16);
  assert.deepEqual(
    await deleteWith(
      await frame(
        VaultOp.delete,
        otherRecord,
        new DeleteRequest({ fromVersion: version, proofMac }).serialize(),
      ),
    ),
    refused(RefusalReason.wrongRecord),
  );
  // A delete frame whose body does not decode.
  assert.deepEqual(
    await deleteWith(await frame(VaultOp.delete, recordId, Uint8Array.of(1, 2, 3))),
    refused(RefusalReason.malformed),
  );
  // A delete for the previous version, even with a MAC that verifies for this one.
  assert.deepEqual(
    await deleteWith(
      await frame(
        VaultOp.delete,
        recordId,
        new DeleteRequest({ fromVersion: version - 1n, proofMac }).serialize(),
      ),
    ),
    refused(RefusalReason.badEvidence),
  );
  // A MAC over another version.
  assert.deepEqual(
    await deleteWith(
      await frame(
        VaultOp.delete,
        recordId,
        new DeleteRequest({ fromVersion: version, proofMac: await proofFor(version - 1n) }).serialize(),
      ),
    ),
    refused(RefusalReason.badProof),
  );
  // The right frame is endorsed.
  const endorsed = await deleteWith(
    await frame(VaultOp.delete, recordId, new DeleteRequest({ fromVersion: version, proofMac }).serialize()),
  );
  assert.equal(endorsed.type, 'endorsement');
  authKey.fill(0);
});

test("a refund's login state must open under this fleet's key for this record", async () => {
  const { recordId } = await enabled(3);
  const spent = await hostSpend(recordId);
  const to = spent.state.with({
    version: spent.state.version + 1n,
    guessesLeft: spent.state.guessesLeft + 1,
    lastSuccess: spent.state.ke1PaidAt!,
    ke1Hash: undefined,
    ke1PaidAt: undefined,
  });
  const evidence = (
    await host.seal(
      VaultOp.loginFinish,
      recordId,
      new LoginFinishRequest({
        ke3: nodePrimitives.randomBytes(64),
        loginBlob: nodePrimitives.randomBytes(120),
      }).serialize(),
    )
  ).frame;
  assert.deepEqual(
    await endorseAtOne(new Intent({ kind: TransitionKind.refund, from: spent, to, evidence })),
    refused(RefusalReason.badEvidence),
  );
});

type FinishFields = ConstructorParameters<typeof RegisterFinishRequest>[0];

/**
 * Registration as the host can run it on its own (anyone may seal to the fleet key): step 1 answered
 * by a core from `current`, finished with OPAQUE, and a step-2 frame builder whose fields a test
 * may alter one at a time.
 */
async function hostRegistration(
  recordId: Uint8Array,
  kind: RegistrationKind,
  current: CertifiedState | undefined,
) {
  await opaque.ready;
  const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
    password: 'host',
  });
  const start = await host.seal(
    VaultOp.registerStart,
    recordId,
    new RegisterStartRequest({ kind, registrationRequest: fromBase64Url(registrationRequest) }).serialize(),
  );
  const step1 = okResult(await start.open(await host.answer(start.frame, current))) as RegisterStartResult;
  const finished = opaque.client.finishRegistration({
    clientRegistrationState,
    registrationResponse: toBase64Url(step1.registrationResponse),
    password: 'host',
    identifiers: { client: toHex(recordId), server: toHex(t.publicInfo.fleetId) },
    keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
  });
  const fields: FinishFields = {
    kind,
    targetVersion: step1.targetVersion,
    registrationResponseHash: nodePrimitives.sha256(step1.registrationResponse),
    limit: t.publicInfo.maxGuessLimit,
    registrationRecord: fromBase64Url(finished.registrationRecord),
    wrappedK: nodePrimitives.randomBytes(60),
    authKey: nodePrimitives.randomBytes(32),
    proofMac: new Uint8Array(32),
    pendingBlob: step1.pendingBlob,
  };
  return {
    step1,
    fields,
    frame: (changes: Partial<FinishFields> = {}) =>
      host.seal(
        VaultOp.registerFinish,
        recordId,
        new RegisterFinishRequest({ ...fields, ...changes }).serialize(),
      ),
  };
}

/** What the proposing core makes of a registration frame: a proposal, or the refusal it seals. */
async function proposeRegistration(
  frame: Awaited<ReturnType<typeof host.seal>>,
  current: CertifiedState | undefined,
) {
  const response = await host.ask(host.peers[0]!, {
    type: 'propose',
    action: 1,
    clientFrame: frame.frame,
    current,
  });
  if (response.type !== 'client-response') return response.type;
  return frame.open((response as { frame: Uint8Array }).frame);
}

test("a registration's step 2 must match its step 1 in kind, version and response, within the fleet's limit", async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const registration = await hostRegistration(recordId, RegistrationKind.create, undefined);
  const badEvidence = { outcome: Outcome.refused, reason: RefusalReason.badEvidence };
  const max = t.publicInfo.maxGuessLimit;
  for (const [what, changes] of [
    ['another kind', { kind: RegistrationKind.change }],
    ['another version', { targetVersion: 2n }],
    ['another registration response', { registrationResponseHash: nodePrimitives.randomBytes(32) }],
    ['a limit above the fleet maximum', { limit: max + 1 }],
    ['a pending blob that does not open', { pendingBlob: nodePrimitives.randomBytes(100) }],
  ] as const) {
    // A change with no record to change is a bad transition before its evidence is read.
    const expected =
      what === 'another kind'
        ? { outcome: Outcome.refused, reason: RefusalReason.badTransition }
        : badEvidence;
    assert.deepEqual(await proposeRegistration(await registration.frame(changes), undefined), expected, what);
  }
  // Unaltered, at the fleet maximum itself, it is proposed.
  const intent = await host.propose((await registration.frame()).frame, undefined);
  assert.equal(intent.to.limit, max);
  // The kind the host names must be the kind the client registered: the same registration shown as
  // a change's step 2 does not back a create.
  const asChange = await registration.frame({ kind: RegistrationKind.change });
  assert.deepEqual(
    await endorseAtOne(
      new Intent({ kind: TransitionKind.create, from: undefined, to: intent.to, evidence: asChange.frame }),
    ),
    refused(RefusalReason.badEvidence),
  );
  assert.equal((await endorseAtOne(intent)).type, 'endorsement');
});

test('a create may not use the pending blob of an earlier step 1 for another version', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  // Step 1 of a create on the fresh record, kept by the host: it targets version 1.
  const early = await hostRegistration(recordId, RegistrationKind.create, undefined);
  assert.equal(early.step1.targetVersion, 1n);
  const client = honestClient();
  const key = nodePrimitives.randomBytes(32);
  await client.enable(recordId, 'right', key, 2);
  await client.delete(recordId, key);
  const deleted = await committed(recordId);
  assert.equal(deleted.state.version, 2n);
  // A create over the deleted record must target version 3; the old pending blob says 1.
  const reused = await early.frame({ targetVersion: 3n });
  assert.deepEqual(await proposeRegistration(reused, deleted), {
    outcome: Outcome.refused,
    reason: RefusalReason.badEvidence,
  });
});

test('a refund is for the spend the state carries: a KE1 paid for again later does not revive its first login', async () => {
  const { recordId } = await enabled(5);
  const first = await committed(recordId);
  // The host pays for a client's KE1, answers it, and keeps the client's KE3 without refunding.
  const login = await host.loginStart(recordId, first.state.incarnation, 'right');
  const paid = await host.certify(await host.propose(login.request.frame, first));
  const started = okResult(
    await login.request.open(await host.answer(login.request.frame, paid)),
  ) as LoginStartResult;
  const finished = opaque.client.finishLogin({
    clientLoginState: login.clientLoginState,
    loginResponse: toBase64Url(started.ke2),
    password: 'right',
    identifiers: { client: toHex(recordId), server: toHex(t.publicInfo.fleetId) },
    keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
  });
  assert.ok(finished !== undefined, 'the right password finishes');
  const keptKe3 = await host.seal(
    VaultOp.loginFinish,
    recordId,
    new LoginFinishRequest({
      ke3: fromBase64Url(finished.finishLoginRequest),
      loginBlob: started.loginBlob,
    }).serialize(),
  );
  // Another guess, then the same KE1 paid for once more: the state carries its hash again, at a
  // later version than the kept login state's.
  await hostSpend(recordId);
  const again = await host.certify(await host.propose(login.request.frame, await committed(recordId)));
  assert.deepEqual(again.state.ke1Hash, paid.state.ke1Hash);
  assert.equal(again.state.ke1PaidAt, 4n);
  // The kept KE3 verifies, but its login state was paid at version 2: no refund of this spend.
  const to = again.state.with({
    version: 5n,
    guessesLeft: again.state.guessesLeft + 1,
    lastSuccess: paid.state.ke1PaidAt!,
    ke1Hash: undefined,
    ke1PaidAt: undefined,
  });
  assert.deepEqual(
    await endorseAtOne(new Intent({ kind: TransitionKind.refund, from: again, to, evidence: keptKe3.frame })),
    refused(RefusalReason.badEvidence),
  );
});
