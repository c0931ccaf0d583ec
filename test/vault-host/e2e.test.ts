// End to end over real HTTP: enable → wrong guess → recover → change → delete, and lockout, on the
// embedded 3-node fleet over SQLite with one NVRAM file per node (docs/PROTOCOL.md "Flows").
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LockedError, NoRecordError, WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { eventually } from '../helpers/eventually.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

let fleet: TestFleet;
before(async () => {
  fleet = await startTestFleet();
  await fleet.serve(0);
});
after(() => fleet.close());

const newRecordId = () => nodePrimitives.randomBytes(16);

test('enable, wrong guess, recover, change password, recover with the new one, delete', async () => {
  const client = fleet.client();
  const recordId = newRecordId();
  const key = nodePrimitives.randomBytes(32);
  const enabled = await client.enable(recordId, 'correct horse', key, 5);
  assert.equal(enabled.version, 1);
  assert.equal(enabled.guessesLeft, 5);

  await assert.rejects(
    client.recover(recordId, 'wrong'),
    (e: unknown) => e instanceof WrongPasswordError && e.guessesLeft === 4,
  );

  const recovered = await client.recover(recordId, 'correct horse');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 1, 'the failed guess stays spent');
  assert.equal(recovered.guessesLeft, 4);
  assert.equal(recovered.version, 4, 'spend, spend, refund after create');

  const changed = await client.changePassword(recordId, key, 'new battery', 3);
  assert.equal(changed.incarnation, 5);
  assert.equal(changed.guessesLeft, 3);
  await assert.rejects(client.recover(recordId, 'correct horse'), WrongPasswordError);
  const again = await client.recover(recordId, 'new battery');
  assert.deepEqual(again.key.exposeBytes(), key);
  assert.equal(again.failedGuessesSinceLastSuccess, 1);

  await client.delete(recordId, key);
  const other = fleet.client();
  const status = await other.status(recordId);
  assert.equal(status.status, 'deleted');
  await assert.rejects(other.recover(recordId, 'new battery'), NoRecordError);
});

test('guesses run out: the record locks and the right password answers locked', async () => {
  const client = fleet.client();
  const recordId = newRecordId();
  const key = nodePrimitives.randomBytes(32);
  await client.enable(recordId, 'pw', key, 2);
  await assert.rejects(
    client.recover(recordId, 'x'),
    (e: unknown) => e instanceof WrongPasswordError && e.guessesLeft === 1,
  );
  await assert.rejects(
    client.recover(recordId, 'y'),
    (e: unknown) => e instanceof WrongPasswordError && e.guessesLeft === 0,
  );
  await assert.rejects(client.recover(recordId, 'pw'), LockedError);
  await eventually(
    () => client.status(recordId),
    (status) => status.status === 'locked',
    'a host locks the exhausted record',
  );
});

test('the right password on the last remaining guess still recovers K', async () => {
  const client = fleet.client();
  const recordId = newRecordId();
  const key = nodePrimitives.randomBytes(32);
  await client.enable(recordId, 'pw', key, 2);
  await assert.rejects(client.recover(recordId, 'x'), WrongPasswordError);
  const recovered = await client.recover(recordId, 'pw');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.guessesLeft, 1);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 1);
});

test('a 1-node fleet has a quorum of one and runs the same flows', async () => {
  const single = await startTestFleet({ nodes: 1 });
  try {
    await single.serve();
    assert.equal(single.ceremony.config.quorum, 1);
    const client = single.client();
    const recordId = newRecordId();
    const key = nodePrimitives.randomBytes(32);
    await client.enable(recordId, 'pw', key, 3);
    await assert.rejects(client.recover(recordId, 'nope'), WrongPasswordError);
    assert.deepEqual((await client.recover(recordId, 'pw')).key.exposeBytes(), key);
  } finally {
    await single.close();
  }
});
