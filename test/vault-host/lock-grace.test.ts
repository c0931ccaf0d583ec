// The host's own locks of exhausted records (docs/PROTOCOL.md §9 "Locking exhausted records"): a
// lock follows only a certified state with no guess left whose grace period has ended, so a refund
// of the last guess (the right password) keeps the record; an exhausted record is locked promptly
// whoever sees it, with no later login start needed. Real cores, real SQLite store, real HTTP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { LockedError, UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { toHex } from '../../src/protocol/vault/bytes.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import { CertifiedState, type RecordState, RecordStatus } from '../../src/protocol/vault/record.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import type { CoordinatorLog } from '../../src/vault-host/coordinator.ts';
import { eventually } from '../helpers/eventually.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

/** Long enough for a login to finish on this busy machine; the tests wait for it to end. */
const GRACE_MS = 10_000;
/** How long a test waits for a host to act on its own (the grace period, on a busy machine). */
const WAIT_MS = 90_000;

/** Every state committed to the store, by record and version: the record's certified chain. */
const chains = new Map<string, Map<bigint, RecordState>>();

/** The real store, with every successful commit noted in `chains` (nothing else changes). */
function observed(store: RecordStore): RecordStore {
  return {
    get: (recordId) => store.get(recordId),
    async compareAndSet(recordId, expected, next) {
      const revision = await store.compareAndSet(recordId, expected, next);
      if (revision !== undefined && next.committed !== undefined && next.intent === undefined) {
        const state = CertifiedState.deserialize(next.committed).state;
        const chain = chains.get(toHex(recordId)) ?? new Map<bigint, RecordState>();
        chains.set(toHex(recordId), chain);
        chain.set(state.version, state);
      }
      return revision;
    },
    ids: () => store.ids(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

const events: Array<Record<string, unknown>> = [];
const log: CoordinatorLog = {
  warn: (fields) => events.push(fields),
  info: (fields) => events.push(fields),
};
const eventFor = (event: string, recordId: Uint8Array) =>
  events.find((fields) => fields.event === event && fields.record === toHex(recordId));

let t: TestFleet;
before(async () => {
  t = await startTestFleet({ maxGuessLimit: 10, wrapStore: observed });
  await t.serve(0, { lockGraceMs: GRACE_MS, log });
  await t.serve(1, { lockGraceMs: GRACE_MS, log });
});
after(() => t.close());

async function committed(recordId: Uint8Array): Promise<RecordState> {
  const slot = await t.store.get(recordId);
  assert.ok(slot?.committed);
  return CertifiedState.deserialize(slot.committed).state;
}

/** Every lock in the record's chain follows a state with no guess left (and the chain has no gap). */
function assertLocksFollowExhaustion(recordId: Uint8Array): void {
  const chain = chains.get(toHex(recordId));
  assert.ok(chain !== undefined, 'the chain was observed');
  for (const [version, state] of chain) {
    if (state.status !== RecordStatus.locked || chain.get(version - 1n)?.status === RecordStatus.locked)
      continue;
    const from = chain.get(version - 1n);
    assert.ok(from !== undefined, `the state before the lock at ${version} was committed`);
    assert.equal(from.status, RecordStatus.active);
    assert.equal(from.guessesLeft, 0, `the lock at version ${version} follows a state with no guess left`);
  }
}

test('the right password on the last guess keeps the record although another device was told "locked"', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const url = t.servers[0]!.url;
  await t.client().enable(recordId, 'right', key, 3);
  await assert.rejects(t.client().recover(recordId, 'wrong 1'), WrongPasswordError);
  await assert.rejects(t.client().recover(recordId, 'wrong 2'), WrongPasswordError);
  // Device A's KE2 arrives (its spend takes the record to 0); before its KE3, device B tries.
  let interleaved = false;
  const deviceA: VaultTransport = {
    async exchange(frame) {
      const response = await fetch(`${url}/v1/vault`, {
        method: 'POST',
        body: frame.slice().buffer as ArrayBuffer,
      });
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (frame[5] === VaultOp.loginStart && !interleaved) {
        interleaved = true;
        await assert.rejects(t.client().recover(recordId, 'wrong 3'), LockedError);
      }
      return bytes;
    },
  };
  const recovered = await t.client({ transport: deviceA }).recover(recordId, 'right');
  assert.equal(interleaved, true);
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.guessesLeft, 1);
  // The grace period of the exhausting spend ends: the host sees the refund and does not lock.
  await eventually(
    async () => eventFor('lock-not-needed', recordId) ?? eventFor('record-locked', recordId),
    (found) => found !== undefined,
    'the grace period of the exhausting spend ends',
    WAIT_MS,
  );
  assert.equal(eventFor('record-locked', recordId), undefined, 'no lock after the refund');
  assert.equal((await committed(recordId)).status, RecordStatus.active);
  assert.deepEqual((await t.client().recover(recordId, 'right')).key.exposeBytes(), key);
  assertLocksFollowExhaustion(recordId);
});

test('an exhausted record is locked once its grace ends, with no later request', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  await t.client().enable(recordId, 'right', nodePrimitives.randomBytes(32), 2);
  await assert.rejects(t.client().recover(recordId, 'wrong 1'), WrongPasswordError);
  await assert.rejects(t.client().recover(recordId, 'wrong 2'), WrongPasswordError);
  const state = await eventually(
    () => committed(recordId),
    (found) => found.status === RecordStatus.locked,
    'the host locks the exhausted record',
    WAIT_MS,
  );
  assert.equal(state.sealed.length, 0, 'the lock erased the sealed part');
  assert.equal(state.version, 4n, 'create, two spends, lock');
  assert.ok(eventFor('record-locked', recordId), 'the lock is logged');
  assertLocksFollowExhaustion(recordId);
});

test('a host that only answers a status request locks an exhausted record it did not exhaust', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  // A host whose grace outlives the test exhausts the record (as a host that stopped would).
  const exhausting = t.fleet.coordinator(2, { lockGraceMs: 10 * 60_000, log });
  const via = (handle: (frame: Uint8Array) => Promise<Uint8Array>) =>
    t.client({ transport: { exchange: handle } });
  await via((frame) => exhausting.handle(frame)).enable(recordId, 'right', nodePrimitives.randomBytes(32), 1);
  await assert.rejects(
    via((frame) => exhausting.handle(frame)).recover(recordId, 'wrong'),
    WrongPasswordError,
  );
  const other = t.fleet.coordinator(1, { lockGraceMs: 500, log });
  const summary = await via((frame) => other.handle(frame)).status(recordId);
  assert.equal(summary.guessesLeft, 0);
  await eventually(
    () => committed(recordId),
    (found) => found.status === RecordStatus.locked,
    'the other host locks the exhausted record',
    WAIT_MS,
  );
  assertLocksFollowExhaustion(recordId);
});

for (const retries of [0, 3]) {
  test(`200 concurrent attempts, half right, half wrong (SDK retries ${retries}): locks only follow exhaustion`, async () => {
    const recordId = nodePrimitives.randomBytes(16);
    const key = nodePrimitives.randomBytes(32);
    const limit = 5;
    await t.client().enable(recordId, 'right', key, limit);
    const [a, b] = t.servers;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        t
          .client({ url: (i % 2 === 0 ? a : b)!.url, retries })
          .recover(recordId, i % 4 < 2 ? 'right' : `wrong-${i}`),
      ),
    );
    let recoveredCount = 0;
    let wrongCount = 0;
    outcomes.forEach((outcome, i) => {
      const right = i % 4 < 2;
      if (outcome.status === 'fulfilled') {
        assert.ok(right, `attempt ${i} with a wrong password recovered nothing`);
        assert.deepEqual(outcome.value.key.exposeBytes(), key);
        recoveredCount++;
        return;
      }
      const error = outcome.reason;
      if (error instanceof WrongPasswordError) {
        assert.ok(!right, `attempt ${i} with the right password is never told "wrong password"`);
        wrongCount++;
        return;
      }
      // Locked: no guess left when it started. Unavailable: the record kept changing under it.
      assert.ok(
        error instanceof LockedError || error instanceof UnavailableError,
        `attempt ${i}: ${String(error)}`,
      );
    });
    // Every wrong password test keeps its guess spent for the life of the incarnation.
    assert.ok(wrongCount <= limit, `${wrongCount} wrong password tests, at most ${limit}`);
    const chain = chains.get(toHex(recordId))!;
    const refunds = [...chain.values()].filter((state, _, all) => {
      const before = all.find((s) => s.version === state.version - 1n);
      return before !== undefined && state.guessesLeft === before.guessesLeft + 1;
    });
    assert.equal(refunds.length, recoveredCount, 'one certified refund per recovery');
    assertLocksFollowExhaustion(recordId);
    // Whatever the storm left: with a guess left, the right password still opens the record.
    const final = await committed(recordId);
    if (final.status === RecordStatus.active && final.guessesLeft > 0)
      assert.deepEqual((await t.client().recover(recordId, 'right')).key.exposeBytes(), key);
    else
      await eventually(
        () => committed(recordId),
        (found) => found.status === RecordStatus.locked,
        'the exhausted record is locked',
        WAIT_MS,
      );
    assertLocksFollowExhaustion(recordId);
  });
}
