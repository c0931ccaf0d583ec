// The core's propose and endorse steps (src/hsm-core/core.ts, docs/PROTOCOL.md §8, §11) driven
// directly with crafted requests: which client frames call for no transition in each record
// state, and how a node's mark answers a second endorsement at, or below, a version it signed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { errorFrame } from '../../src/hsm-core/channel.ts';
import { PLACEHOLDER } from '../../src/hsm-core/transitions.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { type CoreResponse, ProposeAction } from '../../src/protocol/vault/core-rpc.ts';
import { ErrorCode, VaultOp } from '../../src/protocol/vault/frames.ts';
import { Intent, TransitionKind } from '../../src/protocol/vault/intent.ts';
import { type CertifiedState, RecordStatus } from '../../src/protocol/vault/record.ts';
import { DeleteRequest, LoginFinishRequest } from '../../src/protocol/vault/requests.ts';
import { type LoginStartResult, RefusalReason } from '../../src/protocol/vault/responses.ts';
import { startTestFleet, type TestFleet } from '../vault-host/helpers/fleet.ts';
import { MaliciousHost, okResult } from './helpers/host.ts';

let t: TestFleet;
let host: MaliciousHost;
before(async () => {
  t = await startTestFleet();
  host = new MaliciousHost(t);
});
after(() => t.close());

const noTransition = { type: 'no-transition' };

async function enabled() {
  const recordId = nodePrimitives.randomBytes(16);
  const coordinator = t.fleet.coordinator(0);
  const client = t.client({ transport: { exchange: (frame) => coordinator.handle(frame) } });
  await client.enable(recordId, 'right', nodePrimitives.randomBytes(32), 5);
  return { recordId, active: (await host.committed(recordId))! };
}

/** Node 0's answer to a propose request for a client frame, shown `current`. */
const proposeFor = (clientFrame: Uint8Array, current: CertifiedState | undefined): Promise<CoreResponse> =>
  host.ask(host.peers[0]!, { type: 'propose', action: ProposeAction.client, clientFrame, current });

const proposeLock = (current: CertifiedState | undefined): Promise<CoreResponse> =>
  host.ask(host.peers[0]!, {
    type: 'propose',
    action: ProposeAction.lock,
    clientFrame: new Uint8Array(0),
    current,
  });

async function lockIntent(current: CertifiedState): Promise<Intent> {
  const response = await proposeLock(current);
  assert.equal(response.type, 'proposal');
  return (response as { intent: Intent }).intent;
}

/** A spend of `current` paid with a fresh KE1 of the host's; the login frame and its certified spend. */
async function spendOf(recordId: Uint8Array, current: CertifiedState) {
  const login = await host.loginStart(recordId, current.state.incarnation, 'a guess');
  const intent = await host.propose(login.request.frame, current);
  assert.equal(intent.kind, TransitionKind.spend);
  assert.equal(intent.evidence.length, 0, "a spend's evidence is empty: the KE1 hash is in the state");
  return { login, intent, spent: await host.certify(intent, { commit: false }) };
}

test('a mark returns the same signature for the same state, and refuses another state at or below its version', async () => {
  const { recordId, active } = await enabled();
  const first = await spendOf(recordId, active);
  // The same intent again: every core hands back the signature it stored.
  const again = await host.endorseAll(first.intent);
  assert.deepEqual(
    again.map((r) => r.type === 'endorsement' && [r.nodeIndex, r.signature]),
    first.spent.certificate.signatures.map((s) => [s.nodeIndex, s.signature]),
  );
  // Another state at the same version (a lock of the same from-state): conflict at every core.
  for (const r of await host.endorseAll(await lockIntent(active)))
    assert.deepEqual(r, { type: 'refused', reason: RefusalReason.conflict });
  // A second spend on top, then the first spend's intent again: a later state is marked.
  const second = await spendOf(recordId, first.spent);
  assert.equal(second.spent.state.version, first.spent.state.version + 1n);
  for (const r of await host.endorseAll(first.intent))
    assert.deepEqual(r, { type: 'refused', reason: RefusalReason.conflict });
});

test('a lock is proposed only for an active record; an endorse with no from-state must be a create', async () => {
  const { active } = await enabled();
  assert.deepEqual(await proposeLock(undefined), { type: 'refused', reason: RefusalReason.badTransition });
  const intent = await lockIntent(active);
  assert.equal(intent.to.status, RecordStatus.locked);
  const locked = await host.certify(intent, { commit: false });
  assert.deepEqual(await proposeLock(locked), noTransition);
  // The lock's to-state altered in one field: the state the table leads to differs.
  const altered = new Intent({
    kind: TransitionKind.lock,
    from: active,
    to: intent.to.with({ guessesLeft: intent.to.guessesLeft - 1 }),
    evidence: new Uint8Array(0),
  });
  for (const r of await host.endorseAll(altered))
    assert.deepEqual(r, { type: 'refused', reason: RefusalReason.badTransition });
  const fromNothing = new Intent({
    kind: TransitionKind.lock,
    from: undefined,
    to: intent.to.with({ version: 1n }),
    evidence: new Uint8Array(0),
  });
  for (const r of await host.endorseAll(fromNothing))
    assert.deepEqual(r, { type: 'refused', reason: RefusalReason.badTransition });
});

test('frames that call for no transition: a finished registration, an unpaid login, a delete of another version', async () => {
  const { recordId, active } = await enabled();
  const other = await enabled();
  const otherLocked = await host.certify(await lockIntent(other.active), { commit: false });
  // Registration step 2 for the version already certified: nothing more to do.
  const hostRecord = nodePrimitives.randomBytes(16);
  const own = await host.registerOwn(hostRecord, undefined);
  const mine = own.started;
  const finish2 = await own.finish();
  const created = await host.certify(await host.propose(finish2.frame, undefined));
  assert.equal(created.state.version, mine.result.targetVersion);
  assert.deepEqual(await proposeFor(finish2.frame, created), noTransition);
  // Login start: no record, locked, or another incarnation named: no spend.
  const start = await host.loginStart(recordId, active.state.incarnation, 'a guess');
  assert.deepEqual(await proposeFor(start.request.frame, undefined), noTransition);
  const wrongIncarnation = await host.loginStart(recordId, active.state.incarnation + 1n, 'a guess');
  assert.deepEqual(await proposeFor(wrongIncarnation.request.frame, active), noTransition);
  const lockedStart = await host.loginStart(other.recordId, other.active.state.incarnation, 'a guess');
  assert.deepEqual(await proposeFor(lockedStart.request.frame, otherLocked), noTransition);
  // Login finish: a state with no spend, or a spend of another KE1, calls for no refund.
  const { login, spent } = await spendOf(recordId, active);
  const started = okResult(
    await login.request.open(await host.answer(login.request.frame, spent)),
  ) as LoginStartResult;
  const finish = await host.seal(
    VaultOp.loginFinish,
    recordId,
    new LoginFinishRequest({ ke3: nodePrimitives.randomBytes(64), loginBlob: started.loginBlob }).serialize(),
  );
  assert.deepEqual(await proposeFor(finish.frame, undefined), noTransition);
  assert.deepEqual(await proposeFor(finish.frame, active), noTransition);
  const second = await spendOf(recordId, spent);
  assert.deepEqual(await proposeFor(finish.frame, second.spent), noTransition);
  const lockedFinish = await host.seal(
    VaultOp.loginFinish,
    other.recordId,
    new LoginFinishRequest({ ke3: nodePrimitives.randomBytes(64), loginBlob: started.loginBlob }).serialize(),
  );
  assert.deepEqual(await proposeFor(lockedFinish.frame, otherLocked), noTransition);
  // Delete: no record, locked, or a version other than the one shown.
  const deleteOf = (id: Uint8Array, fromVersion: bigint) =>
    host.seal(
      VaultOp.delete,
      id,
      new DeleteRequest({ fromVersion, proofMac: new Uint8Array(32) }).serialize(),
    );
  const current = second.spent;
  assert.deepEqual(
    await proposeFor((await deleteOf(recordId, current.state.version)).frame, undefined),
    noTransition,
  );
  assert.deepEqual(
    await proposeFor((await deleteOf(recordId, current.state.version - 1n)).frame, current),
    noTransition,
  );
  assert.deepEqual(
    await proposeFor((await deleteOf(other.recordId, otherLocked.state.version)).frame, otherLocked),
    noTransition,
  );
});

test('an unopenable client frame gets the unsealed error frame; a state of another record is refused unsealed', async () => {
  const { recordId, active } = await enabled();
  const status = await host.seal(VaultOp.status, recordId, new Uint8Array(0));
  const cut = status.frame.subarray(0, status.frame.length - 1);
  for (const type of ['answer', 'propose'] as const) {
    const request =
      type === 'answer'
        ? { type, clientFrame: cut, current: active }
        : { type, action: ProposeAction.client, clientFrame: cut, current: active };
    assert.deepEqual(await host.ask(host.peers[0]!, request), {
      type: 'client-response',
      frame: errorFrame(ErrorCode.unopenable),
    });
  }
  // The host shows another record's certified state: no sealed answer, the host learns the reason.
  const other = await enabled();
  assert.deepEqual(
    await host.ask(host.peers[0]!, { type: 'answer', clientFrame: status.frame, current: other.active }),
    {
      type: 'refused',
      reason: RefusalReason.wrongRecord,
    },
  );
});

test("a registration's to-state must be the table's in every clear field, and sealed: not the placeholder", async () => {
  // The host's own create, proposed by node 0: its sealed part holds the registration, genuinely.
  const recordId = nodePrimitives.randomBytes(16);
  const frame = await (await host.registerOwn(recordId, undefined)).finish();
  const proposed = await host.propose(frame.frame, undefined);
  assert.equal(proposed.kind, TransitionKind.create);
  const create = (to: typeof proposed.to) =>
    new Intent({ kind: TransitionKind.create, from: undefined, to, evidence: proposed.evidence });
  // The same sealed part under a clear field the table does not lead to (one guess fewer than
  // registered): the sealed part opens and matches, so only the clear-field comparison refuses.
  for (const r of await host.endorseAll(
    create(proposed.to.with({ guessesLeft: proposed.to.guessesLeft - 1 })),
  ))
    assert.deepEqual(r, { type: 'refused', reason: RefusalReason.badTransition });
  // The table's own state before it is sealed (the placeholder where the sealed part goes).
  for (const r of await host.endorseAll(create(proposed.to.with({ sealed: PLACEHOLDER }))))
    assert.deepEqual(r, { type: 'refused', reason: RefusalReason.badTransition });
  // The proposal as it is: every core endorses it.
  const created = await host.certify(create(proposed.to), { commit: false });
  assert.equal(created.state.status, RecordStatus.active);
});
