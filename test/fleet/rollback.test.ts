// Rollback and fork of the record store (docs/PROTOCOL.md §12 "Threat model": an operator who
// restores an old copy of the store or shows different copies to different nodes cannot get a
// certificate for a stale state, cannot replay guesses, and is told so in the logs). A real etcd
// snapshot, restored with `etcdctl snapshot restore` into a fresh cluster.
import assert from 'node:assert/strict';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { InMemoryRecordMemory } from '../../src/client/vault/memory.ts';
import { TamperingError, UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { CertifiedState } from '../../src/protocol/vault/record.ts';
import { openRecordStore } from '../../src/stores/record/index.ts';
import { certificateVerifies } from '../../src/vault-host/endorsement-check.ts';
import { runCli } from '../helpers/cli.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { ProcessFleet } from './fleet.ts';

const randomBytes = (length: number) => new Uint8Array(nodeRandomBytes(length));
const PREFIX = 'rollback';

let current: EtcdCluster;
let restored: EtcdCluster | undefined;
let wiped: EtcdCluster | undefined;
/** The record both tests follow, and its key. */
const recordId = randomBytes(16);
const key = randomBytes(32);
const memory = new InMemoryRecordMemory();
let fleet: ProcessFleet;

before(async () => {
  current = await EtcdCluster.start(3);
  fleet = await ProcessFleet.start({
    store: current.url(PREFIX),
    nodeArgs: ['--peer-timeout', '1000', '--store-timeout', '600'],
  });
});
after(async () => {
  await fleet?.close();
  await restored?.destroy();
  await wiped?.destroy();
  await current?.destroy();
});

async function committedIn(cluster: EtcdCluster, recordId: Uint8Array): Promise<CertifiedState | undefined> {
  const store = openRecordStore(cluster.url(PREFIX));
  try {
    const slot = await store.get(recordId);
    return slot?.committed === undefined ? undefined : CertifiedState.deserialize(slot.committed);
  } finally {
    await store.close();
  }
}

async function restartNodes(indexes: readonly number[]): Promise<void> {
  await Promise.all(indexes.map((i) => fleet.nodes[i]?.kill()));
  await Promise.all(indexes.map((i) => fleet.nodes[i]?.start()));
}

it('refuses a record rolled back by an etcd snapshot restore or forked onto one node, and logs why', async () => {
  const client = fleet.client({ memory });
  await client.enable(recordId, 'right', key, 5);
  const snapshot = join(current.dir, 'before-guesses.db');
  await current.snapshot(snapshot);
  for (let guess = 0; guess < 3; guess++)
    await assert.rejects(client.recover(recordId, 'wrong'), WrongPasswordError);
  assert.equal((await committedIn(current, recordId))?.state.guessesLeft, 2);

  // Rollback: the operator restores the old snapshot into a fresh cluster for every node.
  restored = await EtcdCluster.fromSnapshot(snapshot);
  const stale = await committedIn(restored, recordId);
  assert.equal(stale?.state.version, 1n);
  assert.equal(stale?.state.guessesLeft, 5, 'the restored copy shows all five guesses again');
  fleet.useStore(restored.url(PREFIX));
  await restartNodes([0, 1, 2]);

  // This device has seen version 4: the older record is tampering to it.
  await assert.rejects(client.status(recordId), TamperingError);
  // A device that never saw the record can neither spend nor recover from the stale state.
  await assert.rejects(fleet.client().recover(recordId, 'wrong'), UnavailableError);
  await assert.rejects(fleet.clientOf(2).recover(recordId, 'right'), UnavailableError);
  assert.equal(
    (await committedIn(restored, recordId))?.state.version,
    1n,
    'nothing certified from the stale state',
  );

  const hex = Buffer.from(recordId).toString('hex');
  const refusals = fleet.nodes.flatMap((node) => node.events('endorsement-refused'));
  assert.deepEqual(
    new Set(refusals.map((refusal) => refusal.peer)),
    new Set([0, 1, 2]),
    'every node refused',
  );
  for (const refusal of refusals) {
    assert.equal(refusal.record, hex);
    assert.equal(refusal.reason, 'conflict');
    assert.equal(refusal.version, '2');
    assert.match(String(refusal.msg), /already endorsed a later or different state.*stale record/);
  }

  // Fork: nodes 1 and 2 go back to the real store, node 0 keeps the old copy.
  fleet.useStore(current.url(PREFIX));
  await restartNodes([1, 2]);
  await assert.rejects(fleet.clientOf(0).recover(recordId, 'right'), UnavailableError);
  assert.equal((await committedIn(restored, recordId))?.state.version, 1n, 'no competing version 2');
  assert.equal((await committedIn(current, recordId))?.state.version, 4n);

  // The honest nodes carry on with the real chain: no guess was replayed, the count is exact.
  const recovered = await fleet.clientOf(1, memory).recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 3);
  assert.equal(recovered.guessesLeft, 2);
  assert.equal(recovered.version, 6);
});

it('rebuilds a wiped store and a store restored from an old backup from the nodes’ marks', async () => {
  assert.ok(restored, 'runs after the rollback test, whose old copy it repairs');
  const certified = await committedIn(current, recordId);
  assert.equal(certified?.state.version, 6n);
  wiped = await EtcdCluster.start(3);
  const stores = { wiped: wiped.url(PREFIX), restored: restored.url(PREFIX) };
  const hex = Buffer.from(recordId).toString('hex');

  await Promise.all(fleet.nodes.map((node) => node.stop()));
  const running = await runCli([
    'fleet',
    'repair',
    '--fleet-pub',
    fleet.fleetPubPath,
    '--store',
    stores.wiped,
    fleet.configPaths[0] as string,
  ]);
  assert.equal(running.code, 1, 'one node alone is no quorum');
  assert.match(
    running.stdout,
    new RegExp(`could not rebuild ${hex}: no state is marked by a quorum of 2 nodes`),
  );
  for (const [name, url] of Object.entries(stores)) {
    const repaired = await runCli([
      'fleet',
      'repair',
      '--fleet-pub',
      fleet.fleetPubPath,
      '--store',
      url,
      ...fleet.configPaths,
    ]);
    assert.equal(repaired.code, 0, `${name}: ${repaired.stderr}`);
    const was = name === 'wiped' ? 'absent' : 'version 1';
    assert.match(repaired.stdout, new RegExp(`rebuilt ${hex} at version 6 \\(store had: ${was}\\)`));
    assert.match(
      repaired.stdout,
      /repair: 1 rebuilt, 0 already current, 0 possibly behind, 0 could not be rebuilt, from 3 of 3 nodes \(0 invalid marks ignored\)/,
    );
  }
  const rebuilt = await committedIn(wiped, recordId);
  assert.ok(rebuilt && certificateVerifies(fleet.publicInfo, rebuilt));
  assert.deepEqual(rebuilt.state.serialize(), certified?.state.serialize());
  // Running it again changes nothing.
  const again = await runCli([
    'fleet',
    'repair',
    '--fleet-pub',
    fleet.fleetPubPath,
    '--store',
    stores.wiped,
    ...fleet.configPaths,
  ]);
  assert.match(again.stdout, /repair: 0 rebuilt, 1 already current/);

  // The nodes serve the repaired (formerly stale) store: the user recovers with exactly the
  // guesses the fleet had certified.
  fleet.useStore(stores.restored);
  await Promise.all(fleet.nodes.map((node) => node.start()));
  await assert.rejects(fleet.client({ memory }).recover(recordId, 'wrong'), WrongPasswordError);
  const recovered = await fleet.client({ memory }).recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 4);
  assert.equal(recovered.failedGuessesAtPreviousSuccess, 3);
  assert.equal(recovered.guessesLeft, 1);
});
