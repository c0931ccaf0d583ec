// A malicious host against the cores (docs/PROTOCOL.md §11 and §12): every endorsement a
// host asks for without the evidence the table requires is refused by every core, a KE2 needs a
// certified spend, and replays of old frames buy nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { fromBase64Url } from '../../src/protocol/vault/bytes.ts';
import { deserializeCoreResponse } from '../../src/protocol/vault/core-rpc.ts';
import { ErrorCode, serializeResponseFrame, VaultOp } from '../../src/protocol/vault/frames.ts';
import { Intent, TransitionKind } from '../../src/protocol/vault/intent.ts';
import { Certificate, CertifiedState, RecordStatus } from '../../src/protocol/vault/record.ts';
import { DeleteRequest, LoginFinishRequest, RegistrationKind } from '../../src/protocol/vault/requests.ts';
import { type LoginStartResult, Outcome, RefusalReason } from '../../src/protocol/vault/responses.ts';
import { startTestFleet, type TestFleet } from '../vault-host/helpers/fleet.ts';
import { finishLogin, MaliciousHost, okResult } from './helpers/host.ts';

let t: TestFleet;
let host: MaliciousHost;
before(async () => {
  t = await startTestFleet();
  host = new MaliciousHost(t);
});
after(() => t.close());

/** An honest client talking in-process to a coordinator, with every frame it sent kept by op. */
function recordingClient() {
  const coordinator = t.fleet.coordinator(0);
  const sent = new Map<VaultOp, Uint8Array[]>();
  const transport: VaultTransport = {
    exchange(frame) {
      const op = frame[5] as VaultOp;
      sent.set(op, [...(sent.get(op) ?? []), frame]);
      return coordinator.handle(frame);
    },
  };
  return { client: t.client({ transport }), sent, coordinator };
}

async function enabled(limit = 5) {
  const recording = recordingClient();
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await recording.client.enable(recordId, 'right', key, limit);
  return { ...recording, recordId, key };
}

function refusedByAll(responses: Awaited<ReturnType<MaliciousHost['endorseAll']>>, reason: RefusalReason) {
  assert.equal(responses.length, 3);
  for (const r of responses)
    assert.deepEqual(r, { type: 'refused', reason }, 'every core refuses, for this reason');
}

/** The state a refund of `spent`'s guess would lead to, as the table computes it. */
function refundOf(spent: CertifiedState) {
  return spent.state.with({
    version: spent.state.version + 1n,
    guessesLeft: spent.state.guessesLeft + 1,
    lastSuccess: spent.state.ke1PaidAt!,
    ke1Hash: undefined,
    ke1PaidAt: undefined,
  });
}

/** A spend the host pays itself with its own KE1 (burning a guess, which it may always do). */
async function hostSpend(recordId: Uint8Array, password: string) {
  const current = (await host.committed(recordId))!;
  const login = await host.loginStart(recordId, current.state.incarnation, password);
  const intent = await host.propose(login.request.frame, current);
  assert.equal(intent.kind, TransitionKind.spend);
  const spent = await host.certify(intent);
  return { login, spent };
}

/** A host-paid spend, and a login-finish frame for it whose KE3 is random bytes (no password test). */
async function spendWithForgedKe3(recordId: Uint8Array) {
  const { login, spent } = await hostSpend(recordId, 'a guess');
  const started = okResult(
    await login.request.open(await host.answer(login.request.frame, spent)),
  ) as LoginStartResult;
  const forged = await host.seal(
    VaultOp.loginFinish,
    recordId,
    new LoginFinishRequest({ ke3: nodePrimitives.randomBytes(64), loginBlob: started.loginBlob }).serialize(),
  );
  return { spent, forged };
}

/** The client's OPAQUE login finish with the password 'right' against `ke2` (undefined if it fails). */
const finishWithRightPassword = (recordId: Uint8Array, clientLoginState: string, ke2: Uint8Array) =>
  finishLogin(t, recordId, clientLoginState, ke2, 'right');

test('refund without a verified KE3 is refused by every core', async () => {
  const { recordId } = await enabled();
  const { spent, forged } = await spendWithForgedKe3(recordId);
  const to = spent.state.with({
    version: spent.state.version + 1n,
    guessesLeft: spent.state.guessesLeft + 1,
    lastSuccess: spent.state.version,
    ke1Hash: undefined,
    ke1PaidAt: undefined,
  });
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.refund, from: spent, to, evidence: forged.frame }),
    ),
    RefusalReason.badEvidence,
  );
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.refund, from: spent, to, evidence: new Uint8Array(0) }),
    ),
    RefusalReason.badEvidence,
  );
});

test('refund with the KE3 of an earlier guess, or a replayed KE3, refunds nothing', async () => {
  const { client, sent, recordId, coordinator } = await enabled();
  await client.recover(recordId, 'right');
  const oldKe3Frame = sent.get(VaultOp.loginFinish)![0]!;
  const before = (await host.committed(recordId))!;
  // Replayed through an honest coordinator: no transition, the record does not move.
  await coordinator.handle(oldKe3Frame);
  assert.deepEqual((await host.committed(recordId))!.serialize(), before.serialize());
  // Against a later spend, as a refund's evidence: every core refuses.
  const { spent } = await hostSpend(recordId, 'another guess');
  const to = refundOf(spent);
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.refund, from: spent, to, evidence: oldKe3Frame }),
    ),
    RefusalReason.badEvidence,
  );
});

test('delete and change without the proof MAC are refused by every core', async () => {
  const { recordId } = await enabled();
  const current = (await host.committed(recordId))!;
  const forged = await host.seal(
    VaultOp.delete,
    recordId,
    new DeleteRequest({
      fromVersion: current.state.version,
      proofMac: nodePrimitives.randomBytes(32),
    }).serialize(),
  );
  const deleted = current.state.with({
    version: current.state.version + 1n,
    status: RecordStatus.deleted,
    sealed: new Uint8Array(0),
  });
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.delete, from: current, to: deleted, evidence: forged.frame }),
    ),
    RefusalReason.badProof,
  );
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.delete, from: current, to: deleted, evidence: new Uint8Array(0) }),
    ),
    RefusalReason.badEvidence,
  );
  // The proposing core refuses too, and the sealed answer tells the client why.
  const response = await host.ask(host.peers[0]!, {
    type: 'propose',
    action: 1,
    clientFrame: forged.frame,
    current,
  });
  assert.equal(response.type, 'client-response');
  const opened = await forged.open((response as { frame: Uint8Array }).frame);
  assert.deepEqual(opened, { outcome: Outcome.refused, reason: RefusalReason.badProof });
  // A change needs a registration frame: the host's own (kind change, no valid MAC) is refused.
  await opaque.ready;
  const other = recordingClient();
  await assert.rejects(
    other.client.changePassword(recordId, nodePrimitives.randomBytes(32), 'hijack'),
    /not the record's key/,
  );
  assert.deepEqual((await host.committed(recordId))!.serialize(), current.serialize());
});

test('no KE2 for a KE1 no certified state paid for; a withheld certificate gets nothing', async () => {
  const { recordId } = await enabled();
  const current = (await host.committed(recordId))!;
  const login = await host.loginStart(recordId, current.state.incarnation, 'right');
  // Unpaid: the state shown does not carry this KE1's hash.
  const unpaid = await login.request.open(await host.answer(login.request.frame, current));
  assert.equal(unpaid.outcome, Outcome.stale);
  // Endorsed by a quorum but the certificate withheld: shown with one signature, the core refuses.
  const intent = await host.propose(login.request.frame, current);
  const certified = await host.certify(intent, { commit: false });
  const partial = new CertifiedState(
    certified.state,
    new Certificate(certified.certificate.signatures.slice(0, 1)),
  );
  const refused = await host.ask(host.peers[0]!, {
    type: 'answer',
    clientFrame: login.request.frame,
    current: partial,
  });
  assert.deepEqual(refused, { type: 'refused', reason: RefusalReason.badCertificate });
  // A forged certificate (signatures of another state) is refused the same way.
  const forged = new CertifiedState(certified.state.with({ guessesLeft: 5 }), certified.certificate);
  assert.deepEqual(
    await host.ask(host.peers[1]!, { type: 'answer', clientFrame: login.request.frame, current: forged }),
    {
      type: 'refused',
      reason: RefusalReason.badCertificate,
    },
  );
  // A hidden record (no state shown) answers "no record", never a fake KE2.
  assert.equal(
    (await login.request.open(await host.answer(login.request.frame, undefined))).outcome,
    Outcome.noRecord,
  );
});

test('a certificate with an altered or lone signature of the answering core is refused', async () => {
  const { recordId } = await enabled();
  const current = (await host.committed(recordId))!;
  const login = await host.loginStart(recordId, current.state.incarnation, 'right');
  const certified = await host.certify(await host.propose(login.request.frame, current), { commit: false });
  const core = host.peers[0]!;
  const own = certified.certificate.signatures.find((s) => s.nodeIndex === core.nodeIndex)!;
  const other = certified.certificate.signatures.find((s) => s.nodeIndex !== core.nodeIndex)!;
  const altered = own.signature.slice();
  altered[0]! ^= 1;
  const shown = (...signatures: { nodeIndex: number; signature: Uint8Array }[]) =>
    host.ask(core, {
      type: 'answer',
      clientFrame: login.request.frame,
      current: new CertifiedState(certified.state, new Certificate(signatures)),
    });
  const badCertificate = { type: 'refused', reason: RefusalReason.badCertificate };
  // The core endorsed this very state, but bytes other than its signature are checked, and fail.
  assert.deepEqual(await shown({ nodeIndex: own.nodeIndex, signature: altered }, other), badCertificate);
  // Its own signature alone is one endorsement, not a quorum.
  assert.deepEqual(await shown(own), badCertificate);
  // With a second member's valid signature the spend is certified and the KE2 goes out.
  const answered = await shown(own, other);
  assert.equal(answered.type, 'client-response');
  assert.equal((await login.request.open((answered as { frame: Uint8Array }).frame)).outcome, Outcome.ok);
});

test('a host killed after a spend is certified: the guess stays spent, a retry of the KE1 pays nothing more', async () => {
  const { recordId } = await enabled();
  const { login, spent } = await hostSpend(recordId, 'right'); // then the host dies before answering
  assert.equal(spent.state.guessesLeft, 4);
  const coordinator = t.fleet.coordinator(1);
  const response = await login.request.open(await coordinator.handle(login.request.frame));
  const started = okResult(response) as LoginStartResult;
  assert.equal(started.summary.version, spent.state.version, 'the retry spent nothing');
  assert.equal(started.summary.guessesLeft, 4);
  const finished = finishWithRightPassword(recordId, login.clientLoginState, started.ke2);
  assert.ok(finished, 'the retried KE2 carries the same OPRF result: the right password verifies');
});

test('a pending intent left by a dead coordinator is finished by the next one', async () => {
  const { recordId, client } = await enabled();
  const current = (await host.committed(recordId))!;
  const { request } = await host.loginStart(recordId, current.state.incarnation, 'x');
  const intent = await host.propose(request.frame, current);
  const slot = await t.store.get(recordId);
  assert.ok(
    await t.store.compareAndSet(recordId, slot!.revision, {
      committed: slot!.committed!,
      intent: intent.serialize(),
    }),
  );
  const status = await client.status(recordId);
  assert.equal(
    status.version,
    Number(current.state.version) + 1,
    'the intent was certified and committed first',
  );
  assert.equal(status.guessesLeft, current.state.guessesLeft - 1);
  assert.equal((await t.store.get(recordId))!.intent, undefined);
});

test('an old registration request cannot restore the count; an old login state dies with a password change', async () => {
  const { client, sent, recordId, key, coordinator } = await enabled();
  await assert.rejects(client.recover(recordId, 'wrong'), WrongPasswordError);
  const oldLoginFinish = sent.get(VaultOp.loginFinish) ?? [];
  assert.equal(oldLoginFinish.length, 0);
  await client.recover(recordId, 'right');
  const ke3Frame = sent.get(VaultOp.loginFinish)![0]!;
  const before = (await host.committed(recordId))!;
  // Replay the enabling step-2 frame: version 1 is long past; nothing moves.
  const registration = sent.get(VaultOp.registerFinish)![0]!;
  await coordinator.handle(registration);
  assert.deepEqual((await host.committed(recordId))!.serialize(), before.serialize());
  const recreate = before.state.with({
    version: before.state.version + 1n,
    guessesLeft: 5,
    lastSuccess: before.state.version + 1n,
    incarnation: before.state.version + 1n,
  });
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.create, from: before, to: recreate, evidence: registration }),
    ),
    RefusalReason.badTransition, // a create over an active record
  );
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.change, from: before, to: recreate, evidence: registration }),
    ),
    RefusalReason.badEvidence, // the frame registers a create, not a change
  );
  // After a password change, the old login state cannot refund a spend of the new incarnation.
  await client.changePassword(recordId, key, 'new');
  const { spent } = await hostSpend(recordId, 'guess');
  const to = refundOf(spent);
  refusedByAll(
    await host.endorseAll(new Intent({ kind: TransitionKind.refund, from: spent, to, evidence: ke3Frame })),
    RefusalReason.badEvidence,
  );
});

test('a frame for one record is useless for another', async () => {
  const a = await enabled();
  const b = await enabled();
  const frame = a.sent.get(VaultOp.registerFinish)![0]!;
  // Re-addressed to record b: the header is the HPKE aad, so it no longer opens.
  const readdressed = Uint8Array.from(frame);
  readdressed.set(b.recordId, 4 + 1 + 1 + 16 + 1);
  const response = await b.coordinator.handle(readdressed);
  assert.equal(response[5], 2, 'an unsealed error frame');
  // As evidence for b's transition: refused.
  const current = (await host.committed(b.recordId))!;
  const to = current.state.with({
    version: current.state.version + 1n,
    status: RecordStatus.deleted,
    sealed: new Uint8Array(0),
  });
  refusedByAll(
    await host.endorseAll(new Intent({ kind: TransitionKind.delete, from: current, to, evidence: frame })),
    RefusalReason.badEvidence,
  );
});

test('registration step 1 for a live record id, a hidden record or a self-created record gives no usable OPRF output', async () => {
  const { recordId } = await enabled();
  const current = (await host.committed(recordId))!;
  // The honest KE2 for the right password (the host pays a guess for this reference).
  const { login, spent } = await hostSpend(recordId, 'right');
  const started = okResult(
    await login.request.open(await host.answer(login.request.frame, spent)),
  ) as LoginStartResult;
  const blinded = login.ke1.subarray(0, 32);
  const stepOne = async (id: Uint8Array, shown: CertifiedState | undefined, kind: number) => {
    const request = await host.seal(VaultOp.registerStart, id, Uint8Array.from([kind, ...blinded]));
    return request.open(await host.answer(request.frame, shown));
  };
  // Live record: a create is refused outright; a change or a "hidden" create draws a new credential id.
  assert.deepEqual(await stepOne(recordId, current, 1), {
    outcome: Outcome.refused,
    reason: RefusalReason.badTransition,
  });
  const evaluations = [
    okResult(await stepOne(recordId, current, 2)) as { registrationResponse: Uint8Array },
    okResult(await stepOne(recordId, undefined, 1)) as { registrationResponse: Uint8Array },
    okResult(await stepOne(nodePrimitives.randomBytes(16), undefined, 1)) as {
      registrationResponse: Uint8Array;
    },
  ];
  for (const evaluation of evaluations) {
    const evaluated = evaluation.registrationResponse.subarray(0, 32);
    assert.notDeepEqual(evaluated, started.ke2.subarray(0, 32));
    // Splice that evaluation into the real KE2: with the right password the envelope does not open.
    const ke2 = Uint8Array.from(started.ke2);
    ke2.set(evaluated, 0);
    const finished = finishWithRightPassword(recordId, login.clientLoginState, ke2);
    assert.equal(finished, undefined);
  }
  // Sanity: the untouched KE2 does open with the right password (so the check above can fail).
  const real = finishWithRightPassword(recordId, login.clientLoginState, started.ke2);
  assert.ok(real);
  assert.ok(fromBase64Url(real.exportKey).length === 64);
});

/** The refund of `spent` as the table derives it from a login whose spend was at `paidAt`. */
function refundTo(spent: CertifiedState, paidAt: bigint) {
  return refundOf(spent).with({ lastSuccess: paidAt });
}

/** The user's login up to KE3: the spend is certified and committed, the KE3 frame is the host's to withhold. */
async function withheldKe3(recordId: Uint8Array) {
  const { login, spent } = await hostSpend(recordId, 'right');
  const started = okResult(await login.request.open(await host.answer(login.request.frame, spent)));
  const finished = finishWithRightPassword(
    recordId,
    login.clientLoginState,
    (started as LoginStartResult).ke2,
  );
  assert.ok(finished, "the user's password verifies");
  const ke3 = await host.seal(
    VaultOp.loginFinish,
    recordId,
    new LoginFinishRequest({
      ke3: fromBase64Url(finished.finishLoginRequest),
      loginBlob: (started as LoginStartResult).loginBlob,
    }).serialize(),
  );
  return { login, spent, ke3 };
}

test("a withheld KE3 refunds no later spend that replays the user's KE1 (refund bound to ke1 paid at)", async () => {
  const { recordId } = await enabled();
  const user = await withheldKe3(recordId);
  // The host spends a guess of its own, then replays the user's KE1 frame: a new spend that
  // carries the user's KE1 hash again, paid at a later version.
  await hostSpend(recordId, 'a host guess');
  const beforeReplay = (await host.committed(recordId))!;
  const replay = await host.certify(await host.propose(user.login.request.frame, beforeReplay));
  assert.deepEqual(replay.state.ke1Hash, user.spent.state.ke1Hash);
  assert.notEqual(replay.state.ke1PaidAt, user.spent.state.ke1PaidAt);
  // Its refund with the user's KE3 (for the spend paid at the earlier version) is refused.
  const to = refundTo(replay, user.spent.state.ke1PaidAt!);
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.refund, from: replay, to, evidence: user.ke3.frame }),
    ),
    RefusalReason.badEvidence,
  );
});

test("with two nodes' marks erased, a withheld KE3 refunds no forked spend of the host's (refund bound to ke1 hash)", async () => {
  const { recordId } = await enabled();
  const enabledState = (await host.committed(recordId))!;
  const user = await withheldKe3(recordId);
  // Fork: from the same state, the host's own spend at the same version, certified by two cores
  // whose NVRAM files it emptied. Same incarnation, same ke1 paid at, another KE1 hash.
  const forgetful = await host.forgetfulCores([1, 2]);
  try {
    const own = await host.loginStart(recordId, enabledState.state.incarnation, 'a host guess');
    const forked = await forgetful.certify(await host.propose(own.request.frame, enabledState));
    assert.equal(forked.state.ke1PaidAt, user.spent.state.ke1PaidAt);
    assert.notDeepEqual(forked.state.ke1Hash, user.spent.state.ke1Hash);
    // The honest cores' marks allow the next version; the refund's binding to the KE1 hash does not.
    refusedByAll(
      await host.endorseAll(
        new Intent({
          kind: TransitionKind.refund,
          from: forked,
          to: refundOf(forked),
          evidence: user.ke3.frame,
        }),
      ),
      RefusalReason.badEvidence,
    );
  } finally {
    forgetful.close();
  }
});

test("a registration's sealed part must hold what its evidence registers: the host's own is refused under the user's frame", async () => {
  const recordId = nodePrimitives.randomBytes(16);
  // The host registers the record for itself (limit 5, a password it knows) and keeps the proposal.
  const hostFrame = await (await host.registerOwn(recordId, undefined)).finish();
  const hostIntent = await host.propose(hostFrame.frame, undefined);
  // The user's enable of the same record, intercepted at step 2 (limit 5 too: the clear fields agree).
  const sent = new Map<VaultOp, Uint8Array[]>();
  const intercepting: VaultTransport = {
    async exchange(frame) {
      if (frame[5] === VaultOp.registerFinish) {
        sent.set(VaultOp.registerFinish, [frame]);
        return serializeResponseFrame({ kind: 'error', code: ErrorCode.unavailable });
      }
      return t.fleet.coordinator(0).handle(frame);
    },
  };
  await assert.rejects(
    t
      .client({ transport: intercepting })
      .enable(recordId, 'user password', nodePrimitives.randomBytes(32), 5),
    UnavailableError,
  );
  const userFrame = sent.get(VaultOp.registerFinish)![0]!;
  // The user's frame as evidence, the host's sealed part as the state: every core refuses.
  refusedByAll(
    await host.endorseAll(
      new Intent({ kind: TransitionKind.create, from: undefined, to: hostIntent.to, evidence: userFrame }),
    ),
    RefusalReason.badEvidence,
  );
});

test('step 2 must finish the response its pending blob was drawn with (H(registrationResponse) check)', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  // Two step-1 answers for the same registration request: two credential ids, two responses.
  const first = await host.registerStart(recordId, RegistrationKind.create, undefined, 'host password');
  const second = await host.registerStart(recordId, RegistrationKind.create, undefined, 'host password');
  // The record finished from the second response, carrying the first's pending blob.
  const spliced = await host.registerFinish(recordId, {
    kind: RegistrationKind.create,
    targetVersion: 1n,
    clientRegistrationState: second.clientRegistrationState,
    registrationResponse: second.result.registrationResponse,
    pendingBlob: first.result.pendingBlob,
    password: 'host password',
    limit: 5,
  });
  for (const peer of host.peers) {
    const response = await host.ask(peer, {
      type: 'propose',
      action: 1,
      clientFrame: spliced.frame,
      current: undefined,
    });
    assert.equal(response.type, 'client-response', `node ${peer.nodeIndex} proposed: ${response.type}`);
    const opened = await spliced.open((response as { frame: Uint8Array }).frame);
    assert.deepEqual(opened, { outcome: Outcome.refused, reason: RefusalReason.badEvidence });
  }
});

test('with two nodes\' marks erased, a create over the active record is refused (table row "create over active")', async () => {
  const { recordId } = await enabled();
  const enabledState = (await host.committed(recordId))!;
  await hostSpend(recordId, 'a host guess');
  const current = (await host.committed(recordId))!;
  assert.equal(current.state.status, RecordStatus.active);
  // Fork: a lock of the enabled state at the current version, certified by two emptied cores.
  const forgetful = await host.forgetfulCores([1, 2]);
  try {
    const lock = await host.ask(host.peers[0]!, {
      type: 'propose',
      action: 2,
      clientFrame: new Uint8Array(0),
      current: enabledState,
    });
    const locked = await forgetful.certify((lock as { intent: Intent }).intent);
    assert.equal(locked.state.version, current.state.version);
    // Shown the locked fork, step 1 lets a create at the next version start, and the host registers.
    const { started: mine, finish } = await host.registerOwn(recordId, locked);
    assert.equal(mine.result.targetVersion, current.state.version + 1n);
    const frame = await finish();
    const created = await host.propose(frame.frame, locked);
    // The same create shown from the live active state: the marks allow it, the table refuses it.
    refusedByAll(
      await host.endorseAll(
        new Intent({ kind: TransitionKind.create, from: current, to: created.to, evidence: frame.frame }),
      ),
      RefusalReason.badTransition,
    );
  } finally {
    forgetful.close();
  }
});

test('the withdrawn request kinds 4 and 5 (prepare, check) are refused as malformed', async () => {
  for (const type of [4, 5]) {
    const response = deserializeCoreResponse(await host.peers[0]!.endorse(Uint8Array.of(type, 0, 0, 0, 0)));
    assert.deepEqual(response, { type: 'refused', reason: RefusalReason.malformed });
  }
});
