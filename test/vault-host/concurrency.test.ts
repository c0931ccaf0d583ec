// Concurrency over real HTTP with two vault hosts sharing one fleet and one SQLite store
// (docs/PROTOCOL.md §9, §11): many simultaneous guesses count exactly `limit`, and a login survives an
// interleaved guess by retrying, with its refund applied once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LockedError, WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { CertifiedState, RecordStatus } from '../../src/protocol/vault/record.ts';
import { eventually } from '../helpers/eventually.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

let fleet: TestFleet;
before(async () => {
  fleet = await startTestFleet({ maxGuessLimit: 10 });
  // A short grace, so the exhausted record of the first test is locked soon after the storm.
  await fleet.serve(0, { lockGraceMs: 2000 });
  await fleet.serve(1, { lockGraceMs: 2000 });
});
after(() => fleet.close());

async function committed(recordId: Uint8Array) {
  const slot = await fleet.store.get(recordId);
  assert.ok(slot?.committed);
  return CertifiedState.deserialize(slot.committed).state;
}

test('200 concurrent wrong guesses: exactly limit counted, then locked; the right password answers locked', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await fleet.client().enable(recordId, 'right', key, 5);
  const [a, b] = fleet.servers;
  const outcomes = await Promise.allSettled(
    Array.from({ length: 200 }, (_, i) =>
      fleet.client({ url: (i % 2 === 0 ? a : b)!.url }).recover(recordId, `wrong-${i}`),
    ),
  );
  const wrong = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof WrongPasswordError);
  const locked = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof LockedError);
  assert.equal(wrong.length, 5, 'one password test per guess, exactly limit of them');
  assert.equal(locked.length, 195);
  const guessesReported = wrong.map((o) => (o as PromiseRejectedResult).reason.guessesLeft).sort();
  assert.deepEqual(guessesReported, [0, 1, 2, 3, 4]);
  const state = await eventually(
    () => committed(recordId),
    (found) => found.status === RecordStatus.locked,
    'a host locks the exhausted record',
  );
  assert.equal(state.sealed.length, 0, 'lock erases the sealed part');
  assert.equal(state.version, 7n, 'create, 5 spends, lock');
  await assert.rejects(fleet.client().recover(recordId, 'right'), LockedError);
});

test('a login interleaved by another guess succeeds on retry; its refund applies once', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await fleet.client().enable(recordId, 'right', key, 5);
  // The user's client: after its KE2 arrives, an attacker's guess lands before the user's KE3.
  let interleaved = false;
  const url = fleet.servers[0]!.url;
  const user = fleet.client({
    transport: {
      async exchange(frame) {
        const response = await fetch(`${url}/v1/vault`, {
          method: 'POST',
          body: frame.slice().buffer as ArrayBuffer,
        });
        const bytes = new Uint8Array(await response.arrayBuffer());
        if (frame[5] === 4 && !interleaved) {
          interleaved = true;
          await assert.rejects(fleet.client().recover(recordId, 'attacker'), WrongPasswordError);
        }
        return bytes;
      },
    },
  });
  const recovered = await user.recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  // create(1) spend(2) attacker spend(3) user retry spend(4) refund(5): two failed guesses remain
  // spent (the attacker's and the user's interrupted first KE1), the success refunded only its own.
  assert.equal(recovered.version, 5);
  assert.equal(recovered.guessesLeft, 3);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 2);
});
