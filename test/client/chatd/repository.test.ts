// A repository in the account's storage behind a real ChatD (docs/CHATD.md "Repositories through
// ChatD"; docs/FORMAT.md §12): real sockets, ChatD's real blob storage and account store, the SDK's
// repository functions. A first snapshot, a second that uploads little, a restore on another
// device, `check --read-data`, forget and prune, and a listing past one BlobList frame.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteAccountStore } from '../../../src/chatd/database.ts';
import { ChatdBlobStore } from '../../../src/client/chatd/blob-store.ts';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { checkRepository } from '../../../src/client/repository/check.ts';
import { LOCK_PREFIX } from '../../../src/client/repository/lock.ts';
import { ObjectType } from '../../../src/client/repository/objects.ts';
import {
  forgetSnapshots,
  pruneRepository,
  RepositoryBusyError,
} from '../../../src/client/repository/prune.ts';
import { PACK_PREFIX, Repository, SNAPSHOT_PREFIX } from '../../../src/client/repository/repository.ts';
import { withWriterLock } from '../../../src/client/repository/writer-lock.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { MAX_BLOB_LIST_ENTRIES } from '../../../src/protocol/chatd/blobs.ts';
import type { BlobInfo, BlobStore } from '../../../src/stores/blob/blob-store.ts';
import { type Harness, startChatd } from '../../chatd/helpers.ts';

const MiB = 1024 * 1024;
let chatd: Harness;
let accounts: SqliteAccountStore;
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-chatd-repository-test-'));
  accounts = new SqliteAccountStore(join(work, 'chatd.sqlite'));
  chatd = await startChatd({ accountStore: accounts });
});
after(async () => {
  await chatd.close();
  execFileSync('rm', ['-rf', work]);
});

describe('a repository in ChatD storage', () => {
  it('backs up, backs up again uploading little, restores on another device, checks every byte, forgets and prunes', async () => {
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const phone = await chatd.join('alice');
    const source = join(work, 'chats');
    await mkdir(join(source, 'media'), { recursive: true });
    await writeFile(join(source, 'messages.db'), nodeCrypto.randomBytes(3 * MiB));
    const repository = await Repository.openOrCreate(new ChatdBlobStore(phone), key, nodeCrypto);
    const first = await createSnapshot(repository, [source]);
    assert.ok(first.added > 3 * MiB, `first added ${first.added}`);

    await writeFile(join(source, 'media', 'photo.jpg'), nodeCrypto.randomBytes(700_000));
    const second = await createSnapshot(repository, [source]);
    // The new photo (in a pack padded to a 64 KiB multiple), an index and a snapshot: not the 3 MiB again.
    assert.ok(second.added < 900 * 1024, `second added ${second.added}`);

    const tablet = await chatd.join('alice');
    const onTablet = await Repository.open(new ChatdBlobStore(tablet), key, nodeCrypto);
    assert.deepEqual(
      (await onTablet.listSnapshots()).map((s) => s.id),
      [first.id, second.id],
    );
    const to = join(work, 'restored');
    await restoreSnapshot(onTablet, { to });
    assert.deepEqual((await compareTrees(source, join(to, basename(source)))).differences, []);
    const report = await checkRepository(onTablet, { readData: 1 });
    assert.deepEqual(report.problems, []);
    assert.equal(report.packsRead, report.packs);

    // The photo is deleted on the phone; once the snapshots that had it are forgotten, prune frees
    // its pack, and ChatD's count of the account's bytes goes down by as much.
    await rm(join(source, 'media', 'photo.jpg'));
    const third = await createSnapshot(repository, [source]);
    const usedBefore = Number((await tablet.accountInfo()).usedBytes);
    assert.deepEqual(await forgetSnapshots(onTablet, { keepLast: 1 }), [first.id, second.id]);
    const pruned = await pruneRepository(onTablet, { owner: 'tablet' });
    assert.equal(
      pruned.packsDeleted,
      3,
      "the second photo's pack and the forgotten snapshots' two tree packs",
    );
    const usedAfter = Number((await tablet.accountInfo()).usedBytes);
    assert.ok(usedBefore - usedAfter >= 700_000, `freed ${usedBefore - usedAfter} bytes in ChatD's count`);
    assert.deepEqual((await checkRepository(onTablet, { readData: 1 })).problems, []);
    const again = join(work, 'restored-third');
    await restoreSnapshot(repository, { to: again, id: third.id });
    assert.deepEqual((await compareTrees(source, join(again, basename(source)))).differences, []);
    repository.close();
    onTablet.close();
  });

  it('takes two devices backing up at once: both snapshots listed, check passes, each restores', async () => {
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const phone = await chatd.join('carol');
    const laptop = await chatd.join('carol');
    const onPhone = await Repository.openOrCreate(new ChatdBlobStore(phone), key, nodeCrypto);
    const onLaptop = await Repository.open(new ChatdBlobStore(laptop), key, nodeCrypto);
    const sources = [join(work, 'carol-phone'), join(work, 'carol-laptop')];
    for (const source of sources) {
      await mkdir(source, { recursive: true });
      await writeFile(join(source, 'messages.db'), nodeCrypto.randomBytes(2 * MiB));
      // Shared by both: each run may store it, neither loses it.
      await writeFile(join(source, 'sticker.webp'), Buffer.alloc(300_000, 7));
    }
    const [fromPhone, fromLaptop] = await Promise.all([
      createSnapshot(onPhone, [sources[0]!]),
      createSnapshot(onLaptop, [sources[1]!]),
    ]);
    const listed = (await onLaptop.listSnapshots()).map((s) => s.id).sort();
    assert.deepEqual(listed, [fromPhone.id, fromLaptop.id].sort());
    assert.deepEqual((await checkRepository(onPhone, { readData: 1 })).problems, []);
    for (const [index, snapshot] of [fromPhone, fromLaptop].entries()) {
      const to = join(work, `carol-restored-${index}`);
      await restoreSnapshot(onPhone, { to, id: snapshot.id });
      const source = sources[index]!;
      assert.deepEqual((await compareTrees(source, join(to, basename(source)))).differences, []);
    }
    onPhone.close();
    onLaptop.close();
  });

  it('refuses to prune while another device is midway through a snapshot, which then completes sound', async () => {
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const phone = await chatd.join('dan');
    const tablet = await chatd.join('dan');
    const source = join(work, 'dan-chats');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'old.db'), nodeCrypto.randomBytes(500_000));
    const onTablet = await Repository.openOrCreate(new ChatdBlobStore(tablet), key, nodeCrypto);
    const old = await createSnapshot(onTablet, [source]);
    // The phone's run stores its first full pack (16 MiB, §12.5) and is held before the second.
    await writeFile(join(source, 'video.mp4'), nodeCrypto.randomBytes(20 * MiB));
    const held = new HeldStore(new ChatdBlobStore(phone));
    const onPhone = await Repository.open(held, key, nodeCrypto);
    const running = createSnapshot(onPhone, [source]);
    await held.holding;
    assert.deepEqual(await forgetSnapshots(onTablet, { keepLast: 0 }), [old.id]);
    await assert.rejects(
      pruneRepository(onTablet, { owner: 'tablet' }),
      (error: unknown) =>
        error instanceof RepositoryBusyError &&
        /in no index yet: another run may still be writing/.test(error.message),
    );
    held.release();
    const made = await running;
    assert.deepEqual(
      (await onTablet.listSnapshots()).map((s) => s.id),
      [made.id],
    );
    assert.deepEqual((await checkRepository(onTablet, { readData: 1 })).problems, []);
    const to = join(work, 'dan-restored');
    await restoreSnapshot(onTablet, { to });
    assert.deepEqual((await compareTrees(source, join(to, basename(source)))).differences, []);
    onPhone.close();
    onTablet.close();
  });

  it("refuses to prune while another device's run that uploads nothing new holds a writer's lock", async () => {
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const phone = await chatd.join('erin');
    const tablet = await chatd.join('erin');
    const onTablet = await Repository.openOrCreate(new ChatdBlobStore(tablet), key, nodeCrypto);
    const old = join(work, 'erin-old', 'chats');
    await mkdir(old, { recursive: true });
    await writeFile(join(old, 'letter.txt'), nodeCrypto.randomBytes(300_000));
    const first = await createSnapshot(onTablet, [old]);
    const current = join(work, 'erin-new', 'chats');
    await mkdir(current, { recursive: true });
    await writeFile(join(current, 'messages.db'), nodeCrypto.randomBytes(300_000));
    await createSnapshot(onTablet, [current]);
    // The phone backs up the old letter again: every chunk is in a pack only the first snapshot
    // uses, so its run stores no pack before its snapshot, and nothing but its lock shows it.
    const held = new HeldStore(new ChatdBlobStore(phone), SNAPSHOT_PREFIX, 1);
    const onPhone = await Repository.open(held, key, nodeCrypto);
    const running = withWriterLock(onPhone, 'phone', () => createSnapshot(onPhone, [old]));
    await held.holding;
    assert.deepEqual(await forgetSnapshots(onTablet, { keepLast: 1 }), [first.id]);
    await assert.rejects(
      pruneRepository(onTablet, { owner: 'tablet' }),
      (error: unknown) => error instanceof RepositoryBusyError && /locked by "phone"/.test(error.message),
    );
    held.release();
    const made = await running;
    assert.deepEqual((await onTablet.store.list(LOCK_PREFIX)).length, 0, "the writer's lock is gone");
    await pruneRepository(onTablet, { owner: 'tablet' });
    assert.deepEqual((await checkRepository(onTablet, { readData: 1 })).problems, []);
    const to = join(work, 'erin-restored');
    await restoreSnapshot(onTablet, { to, id: made.id });
    assert.deepEqual((await compareTrees(old, join(to, 'chats'))).differences, []);
    onPhone.close();
    onTablet.close();
  });

  it("makes a writer refuse, storing nothing, while a prune's lock is live", async () => {
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const phone = await chatd.join('fay');
    const repository = await Repository.openOrCreate(new ChatdBlobStore(phone), key, nodeCrypto);
    const prunesLock = repository.newName(LOCK_PREFIX);
    await repository.putMetadata(ObjectType.lock, prunesLock, {
      owner: 'tablet:1',
      expires: new Date(Date.now() + 60_000).toISOString(),
    });
    let ran = false;
    await assert.rejects(
      withWriterLock(repository, 'phone', async () => {
        ran = true;
      }),
      (error: unknown) => error instanceof RepositoryBusyError && /pruned by "tablet:1"/.test(error.message),
    );
    assert.equal(ran, false);
    assert.deepEqual(
      (await repository.store.list(LOCK_PREFIX)).map((info) => info.name),
      [prunesLock],
    );
    repository.close();
  });

  it('lists every object of a prefix past one BlobList frame', async () => {
    const device = await chatd.join('bob');
    const account = (await accounts.account('bob'))!;
    const count = MAX_BLOB_LIST_ENTRIES + 5;
    const names = Array.from({ length: count }, (_, i) => `${PACK_PREFIX}${String(i).padStart(5, '0')}`);
    // The rows go straight into ChatD's own account store: listing reads only that index, and
    // uploading 4,101 blobs through the socket one by one would take minutes here, for nothing
    // more than the rows. One real upload among them shows they sit in the same index.
    for (const name of names.slice(1))
      await accounts.putBlob(
        account.id,
        { name, object: `o-${name}`, size: 1, modifiedMs: Date.now() },
        Number.MAX_SAFE_INTEGER,
      );
    const store = new ChatdBlobStore(device);
    await store.put(names[0]!, oneByte());
    await store.put('other', oneByte());
    assert.deepEqual(
      (await store.list(PACK_PREFIX)).map((info) => info.name),
      names,
    );
    assert.equal((await store.list()).length, count + 1);
  });
});

/** A store that holds one upload (by default the second pack's) until released. */
class HeldStore implements BlobStore {
  readonly location: string;
  private puts = 0;
  private releaseHold!: () => void;
  private readonly hold = new Promise<void>((resolve) => {
    this.releaseHold = resolve;
  });
  private reachedHold!: () => void;
  /** Resolves once the first pack is stored and the second is being held. */
  readonly holding = new Promise<void>((resolve) => {
    this.reachedHold = resolve;
  });

  /** Holds the `nth` put of a name starting with `prefix` (by default the second pack). */
  constructor(
    private readonly inner: BlobStore,
    private readonly prefix = PACK_PREFIX,
    private readonly nth = 2,
  ) {
    this.location = inner.location;
  }

  async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    if (name.startsWith(this.prefix) && ++this.puts === this.nth) {
      this.reachedHold();
      await this.hold;
    }
    return this.inner.put(name, data);
  }

  get(name: string): AsyncIterable<Uint8Array> {
    return this.inner.get(name);
  }

  list(prefix?: string): Promise<BlobInfo[]> {
    return this.inner.list(prefix);
  }

  delete(name: string): Promise<void> {
    return this.inner.delete(name);
  }

  release(): void {
    this.releaseHold();
  }
}

async function* oneByte(): AsyncIterable<Uint8Array> {
  yield Uint8Array.of(1);
}
