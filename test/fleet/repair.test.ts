// `strongroom fleet repair` over a wiped etcd store (docs/PROTOCOL.md §9a), for records in every
// state a fleet leaves them in: recovered, guesses spent, locked, password changed, deleted,
// re-created, moved on while one node was down, and with intents in flight when every node was
// killed -9 mid-storm. Three `strongroom vault node` processes over a real 3-member etcd cluster, on
// loopback. The wiped store is an empty key prefix of the same cluster (what `etcdctl del --prefix`
// leaves).
// A repair from 2 of 3 nodes must flag (exit 8) the records it could not prove current, and
// must be exact for every other; a repair from every node must rebuild each record's latest
// certified state, after which every guess is still counted exactly.
import assert from 'node:assert/strict';
import { randomBytes as nodeRandomBytes, randomInt } from 'node:crypto';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VaultClient } from '../../src/client/vault/client.ts';
import { LockedError, UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { Intent } from '../../src/protocol/vault/intent.ts';
import { CertifiedState, RecordStatus } from '../../src/protocol/vault/record.ts';
import { openRecordStore } from '../../src/stores/record/index.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import { runCli } from '../helpers/cli.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { ProcessFleet } from './fleet.ts';

const randomBytes = (length: number) => new Uint8Array(nodeRandomBytes(length));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const LIMIT = 5;

let etcd: EtcdCluster;
let fleet: ProcessFleet;
let original: RecordStore;
let wiped: RecordStore;

before(async () => {
  etcd = await EtcdCluster.start(3);
  fleet = await ProcessFleet.start({
    store: etcd.url('repair'),
    regions: ['eu', 'us', 'ap'],
    nodeArgs: ['--peer-timeout', '1000', '--store-timeout', '1500'],
    startTimeoutMs: 30_000,
  });
  original = openRecordStore(etcd.url('repair'));
  wiped = openRecordStore(etcd.url('repair-wiped'));
});
after(async () => {
  await original?.close();
  await wiped?.close();
  await fleet?.close();
  await etcd?.destroy();
});

interface Followed {
  readonly id: Uint8Array;
  readonly kind: string;
  readonly key: Uint8Array;
  /** The password that opens it now (undefined: locked or deleted). */
  password?: string;
  /** Wrong guesses of its current incarnation (checked after the repair). */
  failed: number;
}

function follow(kind: string): Followed {
  return { id: randomBytes(16), kind, key: randomBytes(32), password: 'right', failed: 0 };
}

async function enable(client: VaultClient, record: Followed): Promise<void> {
  await client.enable(record.id, 'right', record.key, LIMIT);
}

async function wrongGuess(client: VaultClient, record: Followed): Promise<void> {
  record.failed++;
  await assert.rejects(
    client.recover(record.id, 'wrong'),
    (error) => error instanceof WrongPasswordError && error.guessesLeft === LIMIT - record.failed,
  );
}

async function recoverRight(client: VaultClient, record: Followed): Promise<void> {
  const recovered = await client.recover(record.id, record.password as string);
  assert.deepEqual(recovered.key.exposeBytes(), record.key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, record.failed);
}

async function slotOf(store: RecordStore, record: Followed) {
  const slot = await store.get(record.id);
  return {
    committed: slot?.committed === undefined ? undefined : CertifiedState.deserialize(slot.committed),
    intent: slot?.intent === undefined ? undefined : Intent.deserialize(slot.intent),
  };
}

function repair(nodes: readonly number[]) {
  return runCli([
    'fleet',
    'repair',
    '--fleet-pub',
    fleet.fleetPubPath,
    '--store',
    etcd.url('repair-wiped'),
    ...nodes.map((node) => fleet.configPaths[node] as string),
  ]);
}

/** Versions the repair's stdout names per record: rebuilt, or possibly behind. */
function versionsIn(stdout: string): { rebuilt: Map<string, bigint>; behind: Set<string> } {
  const rebuilt = new Map<string, bigint>();
  const behind = new Set<string>();
  for (const [, id, version] of stdout.matchAll(/^rebuilt ([0-9a-f]{32}) at version (\d+)/gm))
    rebuilt.set(id as string, BigInt(version as string));
  for (const [, id, version] of stdout.matchAll(
    /^possibly behind ([0-9a-f]{32}): rebuilt at version (\d+)/gm,
  )) {
    rebuilt.set(id as string, BigInt(version as string));
    behind.add(id as string);
  }
  return { rebuilt, behind };
}

it('rebuilds a wiped store for records in every state; a partial read flags every record it cannot prove current', async (t) => {
  const eu = fleet.client({ region: 'eu' });
  const records: Followed[] = [];
  const add = (kind: string) => {
    const record = follow(kind);
    records.push(record);
    return record;
  };

  // Every node up.
  for (const record of [add('recovered'), add('recovered')]) {
    await enable(eu, record);
    await wrongGuess(eu, record);
    await recoverRight(eu, record);
  }
  const spent = add('spent');
  await enable(eu, spent);
  await wrongGuess(eu, spent);
  await wrongGuess(eu, spent);
  const locked = add('locked');
  await eu.enable(locked.id, 'right', locked.key, 1);
  await assert.rejects(eu.recover(locked.id, 'wrong'), WrongPasswordError);
  await assert.rejects(eu.recover(locked.id, 'right'), LockedError); // schedules the lock
  await eventually(
    () => slotOf(original, locked),
    (slot) => slot.committed?.state.status === RecordStatus.locked,
    'a host locks the exhausted record',
  );
  locked.password = undefined;
  const changed = add('changed');
  await enable(eu, changed);
  await wrongGuess(eu, changed);
  await eu.changePassword(changed.id, changed.key, 'changed');
  changed.password = 'changed';
  changed.failed = 0;
  const deleted = add('deleted');
  await enable(eu, deleted);
  await eu.delete(deleted.id, deleted.key);
  deleted.password = undefined;
  const recreated = add('re-created');
  await enable(eu, recreated);
  await wrongGuess(eu, recreated);
  await eu.delete(recreated.id, recreated.key);
  await fleet.client().enable(recreated.id, 'again', recreated.key, LIMIT);
  recreated.password = 'again';
  recreated.failed = 0;
  const later = [
    add('moved on without node 0'),
    add('moved on without node 0'),
    add('moved on without node 0'),
  ];
  for (const record of later) await enable(eu, record);
  const storm = [add('guesses in flight'), add('guesses in flight')];
  for (const record of storm) await eu.enable(record.id, 'right', record.key, 10);

  // Node 0 (region eu) down: these records move on with nodes 1 and 2 only.
  await fleet.nodes[0]?.kill();
  const us = fleet.client({ region: 'us' });
  await wrongGuess(us, later[0] as Followed);
  await wrongGuess(us, later[1] as Followed);
  await recoverRight(us, later[1] as Followed);
  await us.changePassword((later[2] as Followed).id, (later[2] as Followed).key, 'new');
  (later[2] as Followed).password = 'new';
  await fleet.nodes[0]?.start(30_000);

  // A storm of wrong guesses on two records from three regions, and every node killed -9 during it.
  const clients = ['eu', 'us', 'ap'].map((region) => fleet.client({ region }));
  const guesses = storm.flatMap((record) =>
    clients.flatMap((client) =>
      Array.from({ length: 3 }, () =>
        client.recover(record.id, 'wrong').then(
          () => assert.fail('a wrong password recovered'),
          (error: unknown) => ({ record, error }),
        ),
      ),
    ),
  );
  // Killed once an intent shows in the store (or after 5 s), a random few ms later.
  await eventually(
    async () =>
      (await Promise.all(storm.map((record) => slotOf(original, record)))).some((slot) => slot.intent),
    (seen) => seen,
    'a storm intent shows in the store',
    5000,
  ).catch(() => undefined);
  await sleep(randomInt(0, 40));
  await Promise.all(fleet.nodes.map((node) => node.kill()));
  const answered = await Promise.all(guesses);
  for (const { error } of answered)
    assert.ok(error instanceof WrongPasswordError || error instanceof UnavailableError, String(error));

  // What the store held when it was lost, record by record.
  const before = new Map<string, Awaited<ReturnType<typeof slotOf>>>();
  for (const record of records) before.set(hex(record.id), await slotOf(original, record));
  const inFlight = storm.filter((record) => before.get(hex(record.id))?.intent !== undefined).length;
  t.diagnostic(`storm records with an intent in flight when every node died: ${inFlight} of ${storm.length}`);

  // 2 of 3 nodes: exit 8, and every record not flagged is exact (checked against the full read).
  const partial = await repair([0, 1]);
  assert.equal(partial.code, 8, `${partial.stdout}\n${partial.stderr}`);
  assert.match(partial.stderr, /may be behind their latest certified state: only 2 of 3 nodes were read/);
  const fromTwo = versionsIn(partial.stdout);
  for (const record of later) assert.ok(fromTwo.behind.has(hex(record.id)), `${record.kind} is flagged`);
  assert.match(partial.stdout, /possibly behind, 0 could not be rebuilt, from 2 of 3 nodes/);

  const full = await repair([0, 1, 2]);
  assert.equal(full.code, 0, `${full.stdout}\n${full.stderr}`);
  assert.match(
    full.stdout,
    / 0 possibly behind, 0 could not be rebuilt, from 3 of 3 nodes \(0 invalid marks/,
  );
  const fromAll = versionsIn(full.stdout);
  for (const record of records) {
    const id = hex(record.id);
    const was = before.get(id);
    const now = await slotOf(wiped, record);
    assert.ok(now.committed, `${record.kind}: rebuilt`);
    assert.equal(now.intent, undefined);
    const rebuilt = now.committed.state;
    // The latest certified state: what the store had committed, or the intent a quorum had
    // endorsed when every node died. Nothing older, nothing else.
    const candidates = [was?.committed?.state, was?.intent?.to].filter((state) => state !== undefined);
    assert.ok(
      candidates.some((state) => Buffer.from(state.serialize()).equals(Buffer.from(rebuilt.serialize()))),
      `${record.kind}: rebuilt the committed state or its endorsed intent`,
    );
    if (record.kind !== 'guesses in flight')
      assert.deepEqual(rebuilt.serialize(), was?.committed?.state.serialize(), record.kind);
    // From two nodes: a record not flagged came back exact (a flagged one may or may not be behind).
    const partialVersion = fromTwo.rebuilt.get(id);
    assert.ok(partialVersion !== undefined, `${record.kind}: the partial read rebuilt it`);
    assert.ok(
      fromTwo.behind.has(id) || partialVersion === rebuilt.version,
      `${record.kind}: not flagged by the partial read, yet version ${partialVersion} of ${rebuilt.version}`,
    );
    // The full read wrote what was behind and left what was current.
    assert.equal(fromAll.rebuilt.get(id) ?? partialVersion, rebuilt.version, record.kind);
  }

  // Back on the rebuilt store, every record answers as it did, with every guess counted.
  fleet.useStore(etcd.url('repair-wiped'));
  await Promise.all(fleet.nodes.map((node) => node.start(30_000)));
  const client = fleet.client({ region: 'ap' });
  for (const record of storm) {
    const state = (await slotOf(wiped, record)).committed?.state;
    record.failed = 10 - (state?.guessesLeft ?? 0);
    const told = answered.filter((a) => a.record === record && a.error instanceof WrongPasswordError);
    assert.ok(told.length <= record.failed, 'every wrong answer given was a certified spend');
  }
  for (const record of records) {
    if (record.password !== undefined) await recoverRight(client, record);
    else if (record.kind === 'locked') await assert.rejects(client.recover(record.id, 'right'), LockedError);
    else assert.equal((await slotOf(wiped, record)).committed?.state.status, RecordStatus.deleted);
  }
});
