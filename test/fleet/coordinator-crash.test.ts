// A coordinator killed with kill -9 between its pending intent and its commit (docs/PROTOCOL.md
// §9 "Coordinator"), repeated with random timing: the next operation completes or supersedes
// the intent, no record is left stuck, and the guess count stays exact — every spend in the
// certified chain, no spend lost or counted twice.
import assert from 'node:assert/strict';
import { randomBytes as nodeRandomBytes, randomInt } from 'node:crypto';
import { after, before, it } from 'node:test';
import { UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { CertifiedState } from '../../src/protocol/vault/record.ts';
import { openRecordStore } from '../../src/stores/record/index.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { ProcessFleet } from './fleet.ts';

const randomBytes = (length: number) => new Uint8Array(nodeRandomBytes(length));
const ROUNDS = 6;
const LIMIT = 10;

let etcd: EtcdCluster;
let fleet: ProcessFleet;
let store: RecordStore;

before(async () => {
  etcd = await EtcdCluster.start(3);
  const url = etcd.url('crash');
  fleet = await ProcessFleet.start({ store: url, nodeArgs: ['--peer-timeout', '1000'] });
  store = openRecordStore(url);
});
after(async () => {
  await store?.close();
  await fleet?.close();
  await etcd?.destroy();
});

/**
 * Kills node 0 once a pending intent shows in the store plus `extraMs` (0: the moment it shows),
 * or at `deadlineMs` if no intent showed by then.
 */
async function killAfterIntent(recordId: Uint8Array, extraMs: number, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const slot = await store.get(recordId);
    const seen = slot?.intent !== undefined;
    if (seen || Date.now() >= deadline) {
      if (seen && extraMs > 0) await new Promise((resolve) => setTimeout(resolve, extraMs));
      await fleet.nodes[0]?.kill();
      return seen;
    }
  }
}

/** Round r's kill: at the intent, a random few ms after it, or at a random time (any phase). */
function killFor(round: number, recordId: Uint8Array): Promise<boolean> {
  if (round % 3 === 0) return killAfterIntent(recordId, 0, 2000);
  if (round % 3 === 1) return killAfterIntent(recordId, randomInt(1, 30), 2000);
  return killAfterIntent(recordId, 0, randomInt(0, 400));
}

it('survives its coordinator being killed between intent and commit, counting every guess once', async (t) => {
  const recordId = randomBytes(16);
  const key = randomBytes(32);
  await fleet.clientOf(1).enable(recordId, 'right', key, LIMIT);
  const victim = fleet.clientOf(0);
  const verifier = fleet.clientOf(1);
  await victim.status(recordId); // remembers the incarnation, so a recovery starts with its KE1

  let answeredWrong = 0;
  let killedWithIntent = 0;
  let version = 1;
  for (let round = 0; round < ROUNDS; round++) {
    const attempt = victim.recover(recordId, 'wrong').then(
      () => 'recovered',
      (error: unknown) => error,
    );
    const killed = killFor(round, recordId);
    const [outcome, intentSeen] = await Promise.all([attempt, killed]);
    if (intentSeen) killedWithIntent++;
    assert.ok(
      outcome instanceof WrongPasswordError || outcome instanceof UnavailableError,
      `round ${round}: ${String(outcome)}`,
    );
    if (outcome instanceof WrongPasswordError) answeredWrong++;

    // Node 0 restarts while the others go on: the next operation settles whatever it left.
    const restart = fleet.nodes[0]?.start();
    const summary = await verifier.status(recordId);
    const slot = await store.get(recordId);
    assert.equal(slot?.intent, undefined, `round ${round}: no intent is left pending`);
    assert.ok(slot?.committed);
    const state = CertifiedState.deserialize(slot.committed).state;
    assert.equal(state.version, BigInt(summary.version));
    // Each round adds at most one spend, and exactly one when the client was told "wrong".
    const added = summary.version - version;
    assert.ok(added === 0 || added === 1, `round ${round}: ${added} spends`);
    if (outcome instanceof WrongPasswordError)
      assert.equal(added, 1, `round ${round}: the answered guess is certified`);
    version = summary.version;
    // Only spends since the create at version 1: guesses left is exactly limit minus spends.
    assert.equal(summary.guessesLeft, LIMIT - (summary.version - 1));
    await restart;
  }
  assert.ok(killedWithIntent > 0, 'at least one coordinator died with its intent pending');
  assert.ok(version - 1 >= answeredWrong);

  const spent = version - 1;
  t.diagnostic(
    `${ROUNDS} kills, ${killedWithIntent} with an intent pending, ${answeredWrong} answered, ${spent} spends certified`,
  );
  const recovered = await fleet.clientOf(2).recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, spent, 'every certified spend is counted, no other');
  assert.equal(recovered.guessesLeft, LIMIT - spent);
});
