// Locks held for a whole run (src/client/repository/lock.ts; docs/FORMAT.md §12.14, §12.15), on a
// real directory store: a writer's or a prune's lock is stored again with a later expiry while the
// run lasts, and a run whose lock could not be refreshed stops before the step a lapsed lock makes
// unsafe (a writer before its snapshot, a prune before any deletion), losing nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot } from '../../../src/client/node/repository-backup.ts';
import { checkRepository } from '../../../src/client/repository/check.ts';
import {
  LOCK_LIFETIME_MS,
  LOCK_MARGIN_MS,
  LOCK_PREFIX,
  LOCK_REFRESH_MS,
  LockLapsedError,
  liveLocks,
} from '../../../src/client/repository/lock.ts';
import { ObjectType } from '../../../src/client/repository/objects.ts';
import {
  forgetSnapshots,
  pruneRepository,
  RepositoryBusyError,
} from '../../../src/client/repository/prune.ts';
import { INDEX_PREFIX, PACK_PREFIX, Repository } from '../../../src/client/repository/repository.ts';
import { withWriterLock } from '../../../src/client/repository/writer-lock.ts';
import { UnavailableError } from '../../../src/errors.ts';
import { BackupKey } from '../../../src/format/key.ts';
import type { BlobInfo } from '../../../src/stores/blob/blob-store.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { fixedChunker } from './fixed-chunker.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
const chunker = () => fixedChunker();
let work: string;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-lock-test-'));
});
after(() => execFileSync('rm', ['-rf', work]));

/** A clock the test moves forward, as if the run took that long. */
function clock() {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (ms: number) => {
      offset += ms;
    },
  };
}

/** A directory store whose lock puts fail after the first, as on a connection that went away. */
class LockRefreshFails extends DirectoryBlobStore {
  lockPuts = 0;
  override async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    if (name.startsWith(LOCK_PREFIX) && this.lockPuts++ > 0) throw new UnavailableError('connection lost');
    return super.put(name, data);
  }
}

async function sourceWith(name: string, bytes: number): Promise<string> {
  const source = fresh('source');
  await mkdir(source);
  await writeFile(join(source, name), nodeCrypto.randomBytes(bytes));
  return source;
}

const lockNames = async (directory: string) =>
  (await readdir(directory)).filter((name) => name.startsWith(LOCK_PREFIX));

describe('a lock held for a whole run', () => {
  it('is stored again with a later expiry while a writer runs, one at a time, and is gone after', async () => {
    const directory = fresh('repo');
    const repository = await Repository.openOrCreate(new DirectoryBlobStore(directory), key, nodeCrypto);
    const time = clock();
    const seen: { names: string[]; expires: number[] }[] = [];
    const source = await sourceWith('chat.db', 100_000);
    const made = await withWriterLock(
      repository,
      'phone',
      async (lock) => {
        for (let i = 0; i < 3; i++) {
          const live = await liveLocks(repository, '', time.now());
          seen.push({ names: live.map((l) => l.name), expires: live.map((l) => Date.parse(l.expires!)) });
          // As if 25 minutes passed: past the margin of the lock first stored, not of a refreshed one.
          time.advance((LOCK_LIFETIME_MS - LOCK_MARGIN_MS) / 2 + 1);
          await sleep(150);
        }
        assert.deepEqual(await lockNames(directory), [lock.name]);
        return createSnapshot(repository, [source], { chunker, lock });
      },
      { now: time.now, refreshMs: 20 },
    );
    assert.equal((await repository.listSnapshots()).at(-1)?.id, made.id);
    assert.equal(new Set(seen.map((s) => s.names[0])).size, 3, 'a new lock object each time');
    for (const s of seen)
      assert.equal(s.names.length, 1, 'the older lock is deleted once the new one is stored');
    assert.ok(seen[1]!.expires[0]! > seen[0]!.expires[0]! && seen[2]!.expires[0]! > seen[1]!.expires[0]!);
    assert.deepEqual(await lockNames(directory), [], 'released');
    repository.close();
  });

  it('makes a writer whose lock could not be refreshed stop before storing its snapshot', async () => {
    const directory = fresh('repo');
    const store = new LockRefreshFails(directory);
    const repository = await Repository.openOrCreate(store, key, nodeCrypto);
    const time = clock();
    const source = await sourceWith('chat.db', 100_000);
    await assert.rejects(
      withWriterLock(
        repository,
        'phone',
        async (lock) => {
          time.advance(LOCK_LIFETIME_MS - LOCK_MARGIN_MS);
          await sleep(100);
          return createSnapshot(repository, [source], { chunker, lock });
        },
        { now: time.now, refreshMs: 20 },
      ),
      (error: unknown) =>
        error instanceof LockLapsedError && /stopped before storing the snapshot/.test(error.message),
    );
    assert.ok(store.lockPuts > 2, 'refreshes were tried');
    assert.deepEqual(await repository.listSnapshots(), []);
    assert.deepEqual(await lockNames(directory), [], 'its lock is deleted all the same');
    // What it stored is adopted by the next run (§12.8): nothing was lost, nothing is listed.
    assert.deepEqual((await checkRepository(repository, { readData: 1 })).problems, []);
    repository.close();
  });

  it('makes a prune whose lock lapsed stop before it deletes anything; the next prune finishes', async () => {
    const directory = fresh('repo');
    const repository = await Repository.openOrCreate(new DirectoryBlobStore(directory), key, nodeCrypto);
    await createSnapshot(repository, [await sourceWith('old.db', 200_000)], { chunker });
    const kept = await createSnapshot(repository, [await sourceWith('new.db', 200_000)], { chunker });
    assert.equal((await forgetSnapshots(repository, { keepLast: 1 })).length, 1);
    const before = (await readdir(directory)).filter(
      (n) => n.startsWith(PACK_PREFIX) || n.startsWith(INDEX_PREFIX),
    );
    const time = clock();
    // The prune's new index is stored at the moment its lock, never refreshed, nears expiry.
    const slow = new (class extends DirectoryBlobStore {
      override async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
        if (name.startsWith(INDEX_PREFIX)) time.advance(LOCK_LIFETIME_MS - LOCK_MARGIN_MS);
        return super.put(name, data);
      }
    })(directory);
    const pruning = await Repository.open(slow, key, nodeCrypto);
    await assert.rejects(
      pruneRepository(pruning, { owner: 'tablet', now: time.now, refreshMs: 60_000 }),
      (error: unknown) =>
        error instanceof LockLapsedError && /stopped before deleting the old indexes/.test(error.message),
    );
    const afterLapse = await readdir(directory);
    for (const name of before) assert.ok(afterLapse.includes(name), `${name} is still stored`);
    assert.deepEqual(await lockNames(directory), []);
    const report = await pruneRepository(repository, { owner: 'tablet' });
    assert.ok(report.packsDeleted > 0, 'the next prune deletes what the forgotten snapshot used');
    assert.deepEqual((await checkRepository(repository, { readData: 1 })).problems, []);
    assert.deepEqual(
      (await repository.listSnapshots()).map((s) => s.id),
      [kept.id],
    );
    pruning.close();
    repository.close();
  });

  it("lets writers run side by side, ignores a dead run's expired lock and one deleted while listed, and refuses under a live prune's", async () => {
    const directory = fresh('repo');
    // Lists one lock more than is stored: a run that ended (or refreshed) between list and read.
    const store = new (class extends DirectoryBlobStore {
      override async list(prefix: string): Promise<BlobInfo[]> {
        const listed = await super.list(prefix);
        if (prefix !== LOCK_PREFIX) return listed;
        return [...listed, { name: `${LOCK_PREFIX}${'cd'.repeat(16)}`, size: 60, modified: new Date() }];
      }
    })(directory);
    const repository = await Repository.openOrCreate(store, key, nodeCrypto);
    const source = await sourceWith('chat.db', 100_000);
    await repository.putMetadata(ObjectType.lock, `${LOCK_PREFIX}${'ab'.repeat(16)}`, {
      owner: 'crashed:1',
      expires: new Date(Date.now() - 1000).toISOString(),
    });
    const inner = await withWriterLock(repository, 'phone', () =>
      withWriterLock(repository, 'tablet', () => createSnapshot(repository, [source], { chunker })),
    );
    assert.deepEqual(
      (await repository.listSnapshots()).map((s) => s.id),
      [inner.id],
    );
    await pruneRepository(repository, { owner: 'laptop' });
    await repository.putMetadata(ObjectType.lock, `${LOCK_PREFIX}${'ef'.repeat(16)}`, {
      owner: 'laptop:2',
      expires: new Date(Date.now() + 60_000).toISOString(),
    });
    let wrote = false;
    await assert.rejects(
      withWriterLock(repository, 'phone', async () => {
        wrote = true;
      }),
      (error: unknown) => error instanceof RepositoryBusyError && /pruned by "laptop:2"/.test(error.message),
    );
    assert.equal(wrote, false);
    repository.close();
  });

  it("fails when another run's lock cannot be read, rather than take it for deleted", async () => {
    const directory = fresh('repo');
    const store = new (class extends DirectoryBlobStore {
      override async *get(name: string): AsyncGenerator<Uint8Array> {
        if (name === `${LOCK_PREFIX}${'ab'.repeat(16)}`) throw new UnavailableError('connection lost');
        yield* super.get(name);
      }
    })(directory);
    const repository = await Repository.openOrCreate(store, key, nodeCrypto);
    await repository.putMetadata(ObjectType.lock, `${LOCK_PREFIX}${'ab'.repeat(16)}`, {
      owner: 'laptop:2',
      expires: new Date(Date.now() + 60_000).toISOString(),
    });
    await assert.rejects(
      pruneRepository(repository, { owner: 'phone' }),
      (error: unknown) => error instanceof UnavailableError && /connection lost/.test(error.message),
    );
    assert.deepEqual(
      await lockNames(directory),
      [`${LOCK_PREFIX}${'ab'.repeat(16)}`],
      'its own lock is deleted',
    );
    repository.close();
  });

  it('keeps the times the format fixes (§12.14): 30 minutes to expire, refreshed every 5, stopped at 10 left', () => {
    assert.deepEqual([LOCK_LIFETIME_MS, LOCK_REFRESH_MS, LOCK_MARGIN_MS], [1_800_000, 300_000, 600_000]);
  });
});
