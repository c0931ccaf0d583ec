// Retention within the account's quota (src/client/repository/retention.ts; docs/BACKUP.md
// "Repositories in ChatD storage") against a real ChatD with a small quota: daily snapshots keep
// fitting, the oldest leave both the repository and ChatD's backup list, the newest always
// restores; a repository that cannot fit says how much is missing; a run refused by the quota
// makes room and succeeds on its retry, its abandoned packs deleted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteAccountStore } from '../../../src/chatd/database.ts';
import { ChatdBlobStore } from '../../../src/client/chatd/blob-store.ts';
import type { ChatdClient } from '../../../src/client/chatd/client.ts';
import { ChatdQuotaError } from '../../../src/client/chatd/errors.ts';
import {
  ChatdRetentionAccount,
  registerSnapshot,
  snapshotIdOfEntry,
} from '../../../src/client/chatd/snapshot-entries.ts';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { checkRepository } from '../../../src/client/repository/check.ts';
import { PACK_PREFIX, Repository, type SnapshotInfo } from '../../../src/client/repository/repository.ts';
import {
  keepWithinQuota,
  QuotaTooSmallError,
  UploadTracker,
} from '../../../src/client/repository/retention.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { MAX_BACKUP_ENTRIES } from '../../../src/protocol/chatd/backups.ts';
import { type Harness, startChatd } from '../../chatd/helpers.ts';

const MiB = 1024 * 1024;
const QUOTA = 3 * MiB;
let chatd: Harness;
let work: string;
let counter = 0;

let accounts: SqliteAccountStore;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-retention-test-'));
  accounts = new SqliteAccountStore(join(work, 'chatd.sqlite'));
  chatd = await startChatd({ quotaBytes: QUOTA, accountStore: accounts });
});
after(async () => {
  await chatd.close();
  execFileSync('rm', ['-rf', work]);
});

const day = (n: number) => new Date(Date.UTC(2026, 0, n, 3, 0, 0));

/** A device of a new account, its repository in the account's storage, and a chat history to back up. */
async function setUp(user: string, server = chatd) {
  const client = await server.join(user);
  const key = BackupKey.generate(nodeCrypto.randomBytes);
  const tracker = new UploadTracker(new ChatdBlobStore(client));
  const repository = await Repository.openOrCreate(tracker, key, nodeCrypto);
  const source = join(work, `${user}-chats`);
  await mkdir(source, { recursive: true });
  return { client, key, tracker, repository, source, account: new ChatdRetentionAccount(client) };
}

async function listedSnapshots(client: ChatdClient): Promise<string[]> {
  return (await client.listBackups()).map((entry) => snapshotIdOfEntry(entry)!);
}

async function assertRestores(repository: Repository, source: string, snapshot: SnapshotInfo) {
  const to = join(work, `restored-${counter++}`);
  await restoreSnapshot(repository, { to, id: snapshot.id });
  assert.deepEqual((await compareTrees(source, join(to, basename(source)))).differences, []);
}

describe('retention within the account quota', () => {
  it('keeps daily snapshots fitting: the oldest leave the repository and the backup list, the newest restores', async () => {
    const { client, repository, source, account } = await setUp('dora');
    // What stays (the contacts) and what each day rewrites (the day's messages).
    await writeFile(join(source, 'contacts.db'), nodeCrypto.randomBytes(200_000));
    const made: string[] = [];
    let forgotten: string[] = [];
    for (let n = 1; n <= 8; n++) {
      await writeFile(join(source, 'today.db'), nodeCrypto.randomBytes(500_000));
      const snapshot = await createSnapshot(repository, [source], { time: day(n) });
      await registerSnapshot(client, snapshot, 'chatd:');
      made.push(snapshot.id);
      const report = await keepWithinQuota(repository, account, { justMade: snapshot.id, owner: 'dora' });
      forgotten = [...forgotten, ...report.forgotten];
      assert.ok(
        report.usedBytes + report.roomBytes <= QUOTA,
        `day ${n}: ${report.usedBytes} used + ${report.roomBytes} room`,
      );
      assert.equal(report.usedBytes, Number((await client.accountInfo()).usedBytes));
      const kept = (await repository.listSnapshots()).map((s) => s.id);
      assert.deepEqual(await listedSnapshots(client), kept, `day ${n}: the backup list is the repository's`);
      assert.equal(kept.at(-1), snapshot.id);
      assert.deepEqual(
        kept,
        made.filter((id) => !forgotten.includes(id)),
      );
      await assertRestores(repository, source, snapshot);
    }
    // Oldest first, and the oldest are gone for good: about four days fit in 3 MiB.
    assert.ok(forgotten.length >= 3, `forgot ${forgotten.length}`);
    assert.deepEqual(forgotten, made.slice(0, forgotten.length));
    assert.deepEqual((await checkRepository(repository, { readData: 1 })).problems, []);
    repository.close();
  });

  it('says how much is missing when even the newest snapshot alone leaves no room for a next one', async () => {
    const { client, repository, source, account } = await setUp('edgar');
    await writeFile(join(source, 'messages.db'), nodeCrypto.randomBytes(1_800_000));
    const snapshot = await createSnapshot(repository, [source], { time: day(1) });
    await registerSnapshot(client, snapshot, 'chatd:');
    // After a snapshot (justMade) the short room is reported, not thrown: the snapshot is stored
    // (docs/BACKUP.md "Repositories in ChatD storage").
    const report = await keepWithinQuota(repository, account, { justMade: snapshot.id, owner: 'edgar' });
    const error = report.roomShort;
    assert.ok(error instanceof QuotaTooSmallError, String(error));
    assert.deepEqual(report.forgotten, []);
    const used = Number((await client.accountInfo()).usedBytes);
    assert.equal(error.usedBytes, used);
    assert.equal(error.roomBytes, snapshot.added);
    assert.equal(error.missingBytes, used + snapshot.added - QUOTA);
    assert.match(error.message, new RegExp(`${error.missingBytes} bytes are missing`));
    // Nothing was forgotten: the one snapshot is still listed and restores.
    assert.deepEqual(await listedSnapshots(client), [snapshot.id]);
    await assertRestores(repository, source, snapshot);
    repository.close();
  });

  it('forgets nothing when even forgetting every older snapshot cannot make the room', async () => {
    const { client, repository, source, account } = await setUp('ivan');
    const made: SnapshotInfo[] = [];
    for (let n = 1; n <= 3; n++) {
      await writeFile(join(source, 'today.db'), nodeCrypto.randomBytes(600_000));
      made.push(await createSnapshot(repository, [source], { time: day(n) }));
      await registerSnapshot(client, made.at(-1)!, 'chatd:');
    }
    const used = Number((await client.accountInfo()).usedBytes);
    // The newest keeps its 600 kB whatever is forgotten: 2.5 MiB more cannot fit in 3 MiB, so
    // forgetting the two older would destroy them in vain (docs/BACKUP.md "Repositories in ChatD storage").
    const room = 2.5 * MiB;
    const error = await keepWithinQuota(repository, account, { roomBytes: room, owner: 'ivan' }).then(
      () => assert.fail('the room cannot be made'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof QuotaTooSmallError, String(error));
    assert.ok(error.usedBytes >= 600_000 && error.usedBytes < used, `${error.usedBytes} of ${used} kept`);
    assert.equal(error.missingBytes, error.usedBytes + room - QUOTA);
    assert.deepEqual(
      await listedSnapshots(client),
      made.map((s) => s.id),
    );
    for (const snapshot of made)
      assert.ok((await repository.listSnapshots()).some((s) => s.id === snapshot.id));
    // Room that forgetting can make is made: the oldest go, the newest stays.
    const report = await keepWithinQuota(repository, account, { roomBytes: 2 * MiB, owner: 'ivan' });
    assert.deepEqual(report.forgotten, [made[0]!.id, made[1]!.id]);
    assert.equal(report.roomShort, undefined);
    await assertRestores(repository, source, made[2]!);
    repository.close();
  });

  it("forgets the oldest snapshot when the account's list of backups is full", async () => {
    const { client, repository, source, account } = await setUp('hana');
    // Single-stream backups fill the list but two places; they go straight into ChatD's own
    // account store, since making 998 real backups through the socket would take minutes here.
    const { id } = (await accounts.account('hana'))!;
    for (let n = 0; n < MAX_BACKUP_ENTRIES - 2; n++) {
      const row = {
        id: `20250101T000000.000Z-${String(n).padStart(8, '0')}`,
        size: 1,
        createdAtMs: 1,
        location: 'chatd:',
      };
      assert.ok(await accounts.putBackup(id, row, MAX_BACKUP_ENTRIES));
    }
    const made: SnapshotInfo[] = [];
    for (let n = 1; n <= 2; n++) {
      await writeFile(join(source, 'today.db'), nodeCrypto.randomBytes(50_000));
      made.push(await createSnapshot(repository, [source], { time: day(n) }));
      await registerSnapshot(client, made.at(-1)!, 'chatd:');
    }
    const report = await keepWithinQuota(repository, account, { justMade: made[1]!.id, owner: 'hana' });
    assert.deepEqual(report.forgotten, [made[0]!.id]);
    const third = await createSnapshot(repository, [source], { time: day(3) });
    await registerSnapshot(client, third, 'chatd:');
    const snapshots = (await client.listBackups()).map(snapshotIdOfEntry).filter((e) => e !== undefined);
    assert.deepEqual(snapshots, [made[1]!.id, third.id]);
    assert.deepEqual(
      (await keepWithinQuota(repository, account, { justMade: third.id, owner: 'hana' })).forgotten,
      [made[1]!.id],
    );
    // One more single-stream backup fills the list again: only the newest snapshot is left, and it stays.
    const row = { id: '20250102T000000.000Z-00000000', size: 1, createdAtMs: 2, location: 'chatd:' };
    assert.ok(await accounts.putBackup(id, row, MAX_BACKUP_ENTRIES));
    const full = await keepWithinQuota(repository, account, { justMade: third.id, owner: 'hana' });
    assert.ok(
      full.roomShort instanceof QuotaTooSmallError &&
        full.roomShort.missingBytes === 0 &&
        /list of backups is full/.test(full.roomShort.message),
      String(full.roomShort),
    );
    // Before a run (no justMade) the same shortfall is an error.
    await assert.rejects(
      keepWithinQuota(repository, account, { owner: 'hana' }),
      (error: unknown) => error instanceof QuotaTooSmallError && error.missingBytes === 0,
    );
    assert.deepEqual(
      (await repository.listSnapshots()).map((s) => s.id),
      [third.id],
    );
    repository.close();
  });

  it('makes room when a run is refused by the quota, deleting the pack that run abandoned', async () => {
    // A quota above one full pack (16 MiB, §12.5), so the refused run has stored a pack before
    // the quota stops it: that pack is in no index, and prune would take it for a live writer's.
    const big = await startChatd({ quotaBytes: 24 * MiB });
    try {
      const { client, repository, tracker, source, account } = await setUp('flora', big);
      const first: SnapshotInfo[] = [];
      for (let n = 1; n <= 3; n++) {
        await writeFile(join(source, 'today.db'), nodeCrypto.randomBytes(2 * MiB));
        const snapshot = await createSnapshot(repository, [source], { time: day(n) });
        await registerSnapshot(client, snapshot, 'chatd:');
        first.push(snapshot);
      }
      // A day with a 20 MiB video: 16 MiB of it land in a first pack, the rest passes the quota.
      await writeFile(join(source, 'video.mp4'), nodeCrypto.randomBytes(20 * MiB));
      const storedBefore = tracker.storedPacks().length;
      const mark = tracker.mark();
      await assert.rejects(createSnapshot(repository, [source], { time: day(4) }), ChatdQuotaError);
      const abandoned = tracker.storedPacks().slice(storedBefore);
      assert.equal(abandoned.length, 1);
      // What a retry uploads again: the stored pack, and the pack of the video's last 4 MiB that
      // the quota refused; far more than the 2 MiB the newest snapshot's run uploaded.
      const left = tracker.abandonedSince(mark);
      const room = left.bytes;
      assert.deepEqual(left.packs, abandoned);
      assert.ok(room >= 20 * MiB && room < 21 * MiB, `${room} bytes of room`);
      const report = await keepWithinQuota(repository, account, {
        abandonedPacks: left.packs,
        roomBytes: room,
        owner: 'flora',
      });
      assert.deepEqual(report.forgotten, [first[0]!.id, first[1]!.id]);
      assert.ok(report.usedBytes + room <= 24 * MiB, `${report.usedBytes} used`);
      const packs = (await repository.store.list(PACK_PREFIX)).map((info) => info.name);
      assert.ok(!packs.includes(abandoned[0]!), 'the abandoned pack is deleted');
      const retried = await createSnapshot(repository, [source], { time: day(4) });
      await registerSnapshot(client, retried, 'chatd:');
      assert.deepEqual(await listedSnapshots(client), [first[2]!.id, retried.id]);
      await assertRestores(repository, source, retried);
      assert.deepEqual((await checkRepository(repository, { readData: 1 })).problems, []);
      repository.close();
    } finally {
      await big.close();
    }
  });

  it('counts every object of the account: two devices at once near the quota never pass it, and the repository stays sound', async () => {
    const { client, key, repository, source } = await setUp('gus');
    // Something else of the account's, outside the repository: a single-stream backup's blob.
    await new ChatdBlobStore(client).put('20260101T000000.000Z-00000000.srb', chunksOf(MiB));
    await writeFile(join(source, 'messages.db'), nodeCrypto.randomBytes(200_000));
    const base = await createSnapshot(repository, [source], { time: day(1) });
    const laptop = new ChatdBlobStore(await chatd.join('gus'));
    const onLaptop = await Repository.open(laptop, key, nodeCrypto);
    const sources = [join(work, 'gus-phone'), join(work, 'gus-laptop')];
    for (const other of sources) {
      await mkdir(other, { recursive: true });
      await writeFile(join(other, 'video.mp4'), nodeCrypto.randomBytes(1_200_000));
    }
    const outcomes = await Promise.allSettled([
      createSnapshot(repository, [sources[0]!], { time: day(2) }),
      createSnapshot(onLaptop, [sources[1]!], { time: day(2) }),
    ]);
    const refused = outcomes.filter((o) => o.status === 'rejected');
    assert.ok(refused.length >= 1, 'both fitted, yet together they pass the quota');
    for (const o of refused) assert.ok(o.reason instanceof ChatdQuotaError, String(o.reason));
    const used = Number((await client.accountInfo()).usedBytes);
    assert.ok(used <= QUOTA, `${used} bytes used of ${QUOTA}`);
    const stored = await laptop.list();
    assert.equal(
      used,
      stored.reduce((sum, info) => sum + info.size, 0),
      'every object is counted',
    );
    assert.deepEqual((await checkRepository(onLaptop, { readData: 1 })).problems, []);
    await assertRestores(onLaptop, source, base);
    for (const [index, o] of outcomes.entries())
      if (o.status === 'fulfilled') await assertRestores(onLaptop, sources[index]!, o.value);
    repository.close();
    onLaptop.close();
  });
});

async function* chunksOf(length: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < length; at += 64 * 1024)
    yield nodeCrypto.randomBytes(Math.min(64 * 1024, length - at));
}
