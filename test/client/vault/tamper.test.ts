// The device's own tamper checks (src/client/vault/client.ts; docs/SECURITY.md, docs/PROTOCOL.md section 10
// "Flows"): against a host that rolls the store back or hides the record, a device that remembers
// the record reports tampering at every entry point, while an unchanged record read twice is not
// tampering; the failed-guess figures a recovery reports are this device's own; bad input is a
// UsageError before anything is sent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { InMemoryRecordMemory } from '../../../src/client/vault/memory.ts';
import type { VaultTransport } from '../../../src/client/vault/transport.ts';
import {
  NoRecordError,
  StrongroomError,
  TamperingError,
  UsageError,
  WrongPasswordError,
} from '../../../src/errors.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { FleetPublicInfo } from '../../../src/protocol/fleet.ts';
import { VaultOp } from '../../../src/protocol/vault/frames.ts';
import { CertifiedState } from '../../../src/protocol/vault/record.ts';
import { startTestFleet, type TestFleet } from '../../vault-host/helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
});
after(() => t.close());

/** A device talking in-process to coordinator 0, with its memory kept where the test can read it. */
function device() {
  const coordinator = t.fleet.coordinator(0);
  const transport: VaultTransport = { exchange: (frame) => coordinator.handle(frame) };
  const memory = new InMemoryRecordMemory();
  return { client: t.client({ transport, memory }), memory };
}

/** The host writes `committed` (or nothing: the record hidden) into the store slot. */
async function restore(recordId: Uint8Array, committed: Uint8Array | undefined) {
  const slot = await t.store.get(recordId);
  assert.ok(
    await t.store.compareAndSet(recordId, slot?.revision, committed === undefined ? {} : { committed }),
  );
}

/** A TamperingError that also says what to do next (its hints), not only what was seen. */
const tamperingWithHints = (error: unknown) => error instanceof TamperingError && error.hints.length > 0;

const committedBytes = async (recordId: Uint8Array) => (await t.store.get(recordId))?.committed;

test('reading the same version again is no tampering; an older one is, at status and at a change', async () => {
  const { client, memory } = device();
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await client.enable(recordId, 'right', key, 3);
  const old = await committedBytes(recordId);
  assert.equal((await client.status(recordId)).version, 1);
  assert.equal((await client.status(recordId)).version, 1);
  await client.recover(recordId, 'right');
  assert.equal((await memory.get(recordId))?.highestVersion, 3n);
  await restore(recordId, old);
  await assert.rejects(client.status(recordId), tamperingWithHints);
  await assert.rejects(client.changePassword(recordId, key, 'new'), TamperingError);
  // The device's memory still holds the highest version it saw, not the rolled-back one.
  assert.equal((await memory.get(recordId))?.highestVersion, 3n);
});

test('a hidden record is tampering to a device that saw it, and no record to one that did not', async () => {
  const { client } = device();
  const recordId = nodePrimitives.randomBytes(16);
  await client.enable(recordId, 'right', nodePrimitives.randomBytes(32), 3);
  await restore(recordId, undefined);
  await assert.rejects(client.status(recordId), tamperingWithHints);
  await assert.rejects(device().client.status(recordId), NoRecordError);
  // Enabling again over the hidden record would start over at version 1, which this device
  // has already seen: it refuses before registering.
  await assert.rejects(client.enable(recordId, 'again', nodePrimitives.randomBytes(32), 3), TamperingError);
});

test("a recovery reports every failed guess of the incarnation and this device's previous figure", async () => {
  const { client, memory } = device();
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await client.enable(recordId, 'right', key, 5);
  const thief = device().client;
  await assert.rejects(thief.recover(recordId, 'guess-1'), WrongPasswordError);
  const first = await client.recover(recordId, 'right');
  assert.deepEqual(first.key.exposeBytes(), key);
  assert.equal(first.failedGuessesSinceLastSuccess, 1);
  assert.equal(first.failedGuessesAtPreviousSuccess, 0);
  assert.equal(first.guessesLeft, 4);
  assert.equal(first.limit, 5);
  assert.equal(first.changedElsewhere, false);
  assert.equal(first.incarnation, 1);
  assert.equal(first.version, 4);
  assert.deepEqual(await memory.get(recordId), {
    incarnation: 1n,
    highestVersion: 4n,
    failedGuessesAtLastSuccess: 1,
  });
  await assert.rejects(thief.recover(recordId, 'guess-2'), WrongPasswordError);
  const second = await client.recover(recordId, 'right');
  assert.equal(second.failedGuessesSinceLastSuccess, 2);
  assert.equal(second.failedGuessesAtPreviousSuccess, 1);
  assert.equal(second.guessesLeft, 3);
  // A password change by this device keeps its figure; one made elsewhere starts it again at 0.
  await client.changePassword(recordId, key, 'changed');
  assert.equal((await memory.get(recordId))?.failedGuessesAtLastSuccess, 2);
  const { client: laptop } = device();
  await laptop.recover(recordId, 'changed');
  await laptop.changePassword(recordId, key, 'again');
  // Unconfirmed, the new incarnation is reported before a guess is spent; confirmed, it is accepted.
  await assert.rejects(client.recover(recordId, 'again'), TamperingError);
  const afterChange = await client.recover(recordId, 'again', { passwordChangedElsewhere: true });
  assert.equal(afterChange.changedElsewhere, true);
  assert.equal(afterChange.guessesLeft, 5);
  assert.equal(afterChange.failedGuessesAtPreviousSuccess, 0);
});

test('a recovery against another OPAQUE key than the pinned one stops before its login finish', async () => {
  const { client } = device();
  const recordId = nodePrimitives.randomBytes(16);
  await client.enable(recordId, 'right', nodePrimitives.randomBytes(32), 3);
  const info = t.publicInfo;
  const unpinned = new FleetPublicInfo({
    fleetId: info.fleetId,
    members: info.members,
    quorum: info.quorum,
    maxGuessLimit: info.maxGuessLimit,
    hpkePublicKey: info.hpkePublicKey,
    opaqueServerPublicKey: nodePrimitives.randomBytes(32),
  });
  const coordinator = t.fleet.coordinator(0);
  const ops: VaultOp[] = [];
  const transport: VaultTransport = {
    exchange: (frame) => {
      ops.push(frame[5] as VaultOp);
      return coordinator.handle(frame);
    },
  };
  await assert.rejects(t.client({ fleet: unpinned, transport }).recover(recordId, 'right'), TamperingError);
  assert.equal(ops.includes(VaultOp.loginFinish), false, 'no KE3 leaves for an unpinned server');
  const state = CertifiedState.deserialize((await committedBytes(recordId))!).state;
  assert.equal(state.guessesLeft, 2, 'the guess paid for stays spent');
});

test('bad input is a UsageError before anything is sent', async () => {
  let sent = 0;
  const transport: VaultTransport = {
    exchange: () => {
      sent++;
      throw new Error('nothing should be sent');
    },
  };
  const client = t.client({ transport });
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const max = t.publicInfo.maxGuessLimit;
  for (const limit of [0, max + 1, 1.5]) {
    await assert.rejects(client.enable(recordId, 'pw', key, limit), UsageError, `limit ${limit}`);
  }
  for (const id of [nodePrimitives.randomBytes(15), nodePrimitives.randomBytes(65)]) {
    await assert.rejects(client.status(id), UsageError);
    await assert.rejects(client.recover(id, 'pw'), UsageError);
  }
  for (const badKey of [nodePrimitives.randomBytes(31), nodePrimitives.randomBytes(33)]) {
    await assert.rejects(client.enable(recordId, 'pw', badKey, 1), UsageError);
    await assert.rejects(client.changePassword(recordId, badKey, 'pw'), UsageError);
    await assert.rejects(client.delete(recordId, badKey), UsageError);
  }
  assert.equal(sent, 0);
  // The bounds themselves are accepted (they reach the transport).
  await assert.rejects(client.status(nodePrimitives.randomBytes(16)), /nothing should be sent/);
  await assert.rejects(client.status(nodePrimitives.randomBytes(64)), /nothing should be sent/);
  await assert.rejects(client.enable(recordId, 'pw', key, max), /nothing should be sent/);
  await assert.rejects(client.enable(recordId, 'pw', key, 1), /nothing should be sent/);
});

test('a device that never saw the record reads it, recovers it, and remembers what it saw', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await device().client.enable(recordId, 'right', key, 3);
  const { client, memory } = device();
  assert.deepEqual(await client.status(recordId), {
    status: 'active',
    limit: 3,
    guessesLeft: 3,
    version: 1,
    incarnation: 1,
  });
  const { client: other, memory: otherMemory } = device();
  const recovered = await other.recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.changedElsewhere, false);
  assert.equal(recovered.failedGuessesAtPreviousSuccess, 0);
  assert.deepEqual(await otherMemory.get(recordId), {
    incarnation: 1n,
    highestVersion: BigInt(recovered.version),
    failedGuessesAtLastSuccess: 0,
  });
  // A status read starts no memory: only enable, a change and a recovery do (they checked the record).
  assert.equal(await memory.get(recordId), undefined);
});

test('the Argon2id parameters are part of the password: a device with others cannot recover', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  await device().client.enable(recordId, 'right', nodePrimitives.randomBytes(32), 3);
  const coordinator = t.fleet.coordinator(0);
  const other = t.client({
    transport: { exchange: (frame) => coordinator.handle(frame) },
    argon2id: { memory: 512, iterations: 1, parallelism: 1 },
  });
  await assert.rejects(other.recover(recordId, 'right'), WrongPasswordError);
});

test('a change keeps or sets the guess limit; a delete makes the device forget the record', async () => {
  const { client, memory } = device();
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await client.enable(recordId, 'right', key, 3);
  assert.equal((await client.changePassword(recordId, key, 'second')).limit, 3);
  const changed = await client.changePassword(recordId, key, 'third', 7);
  assert.equal(changed.limit, 7);
  assert.equal(changed.guessesLeft, 7);
  assert.equal((await client.status(recordId)).limit, 7);
  await client.delete(recordId, key);
  assert.equal(await memory.get(recordId), undefined);
  assert.equal((await device().client.status(recordId)).status, 'deleted');
});

test('enabling a record that is already active is refused, with what to do instead', async () => {
  const { client } = device();
  const recordId = nodePrimitives.randomBytes(16);
  await client.enable(recordId, 'right', nodePrimitives.randomBytes(32), 3);
  await assert.rejects(
    device().client.enable(recordId, 'again', nodePrimitives.randomBytes(32), 3),
    (error: unknown) =>
      error instanceof StrongroomError &&
      !(error instanceof TamperingError) &&
      /already holds an active record/.test(error.message) &&
      error.hints.length > 0,
  );
});

test('a record hidden between two steps of a flow is tampering to a device that saw it', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const memory = new InMemoryRecordMemory();
  const coordinator = t.fleet.coordinator(0);
  // The host hides the record just before the device's first frame of kind `op`, then stops; it
  // puts the record back as it was (`hidden`) after each flow.
  let hideBefore: VaultOp | undefined;
  let hidden: Uint8Array | undefined;
  const transport: VaultTransport = {
    async exchange(frame) {
      if (frame[5] === hideBefore) {
        hideBefore = undefined;
        hidden = await committedBytes(recordId);
        await restore(recordId, undefined);
      }
      return coordinator.handle(frame);
    },
  };
  const client = t.client({ transport, memory });
  await client.enable(recordId, 'right', key, 5);
  for (const [op, flow] of [
    [VaultOp.loginStart, () => client.recover(recordId, 'right')],
    [VaultOp.loginFinish, () => client.recover(recordId, 'right')],
    [VaultOp.registerStart, () => client.changePassword(recordId, key, 'new')],
    [VaultOp.delete, () => client.delete(recordId, key)],
  ] as const) {
    hideBefore = op;
    await assert.rejects(
      flow(),
      (error: unknown) =>
        tamperingWithHints(error) && /no record this device has seen/.test((error as Error).message),
      `hidden before ${VaultOp[op]}`,
    );
    await restore(recordId, hidden);
  }
});

test('a delete with another K is refused, and the device still remembers the record', async () => {
  const { client, memory } = device();
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await client.enable(recordId, 'right', key, 3);
  await assert.rejects(
    client.delete(recordId, nodePrimitives.randomBytes(32)),
    (error: unknown) => error instanceof StrongroomError && /refused/.test(error.message),
  );
  assert.equal((await memory.get(recordId))?.incarnation, 1n);
  assert.equal((await client.status(recordId)).status, 'active');
});
