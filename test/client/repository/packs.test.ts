// Packs on a real directory store (src/client/repository/writer.ts, reader.ts, prune.ts;
// docs/FORMAT.md §12.5, §12.14): blobs are stored zstd-compressed when that makes them smaller
// and as is otherwise, both platforms' decoders restore them, and prune repacks partly used packs
// without ever losing a used blob, whichever of its store writes fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { zstdCompression } from '../../../src/client/node/zstd-compression.ts';
import { checkRepository } from '../../../src/client/repository/check.ts';
import type { ChunkCompression } from '../../../src/client/repository/compression.ts';
import { LOCK_PREFIX } from '../../../src/client/repository/lock.ts';
import { openObject } from '../../../src/client/repository/objects.ts';
import { forgetSnapshots, pruneRepository } from '../../../src/client/repository/prune.ts';
import {
  BlobCompression,
  PACK_PREFIX,
  type PackEntry,
  Repository,
  readWhole,
  type SnapshotInfo,
} from '../../../src/client/repository/repository.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { UnavailableError } from '../../../src/errors.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { startCli } from '../../helpers/cli.ts';
import { eventually } from '../../helpers/eventually.ts';
import { fixedChunker } from './fixed-chunker.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
const MiB = 1024 * 1024;
const options = { chunker: () => fixedChunker() };
let work: string;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-packs-test-'));
});
after(() => execFileSync('rm', ['-rf', work]));

const open = (directory: string, compression: ChunkCompression = zstdCompression()) =>
  Repository.openOrCreate(new DirectoryBlobStore(directory), key, nodeCrypto, { compression });
/** Opened as the browser does: no compression given, so blobs are read with fzstd and written as is. */
const openWithoutCompression = (directory: string) =>
  Repository.openOrCreate(new DirectoryBlobStore(directory), key, nodeCrypto);

async function treeWith(files: Record<string, Uint8Array>): Promise<string> {
  const source = fresh('source');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(source, name, '..'), { recursive: true });
    await writeFile(join(source, name), content);
  }
  return source;
}

async function assertRestores(repository: Repository, source: string, id?: string) {
  const to = fresh('restored');
  await restoreSnapshot(repository, { to, id });
  assert.deepEqual((await compareTrees(source, join(to, basename(source)))).differences, []);
}

/** Text that compresses well: numbered chat lines. */
const chatText = (length: number) =>
  new TextEncoder().encode(
    Array.from({ length: Math.ceil(length / 30) }, (_, i) => `line ${i}: hello again ${i % 97}\n`)
      .join('')
      .slice(0, length),
  );

/** Every blob of every pack with the compression byte it was stored with. */
async function storedBlobs(repository: Repository): Promise<(PackEntry & { compression: number })[]> {
  const blobs: (PackEntry & { compression: number })[] = [];
  for (const info of await repository.store.list(PACK_PREFIX)) {
    const bytes = await readWhole(repository.store, info.name);
    for (const entry of await repository.readPackHeader(info.name, bytes)) {
      const sealed = bytes.subarray(entry.offset, entry.offset + entry.length);
      const body = await openObject(repository.dataAead, sealed, entry.type, '', 'blob');
      blobs.push({ ...entry, compression: body[0]! });
    }
  }
  return blobs;
}

describe('compression in packs', () => {
  it('stores text compressed and random bytes as is, and both decoders restore them', async () => {
    const text = chatText(2 * MiB);
    const noise = nodeCrypto.randomBytes(MiB);
    const source = await treeWith({ 'messages.db': text, 'photo.jpg': noise });
    const directory = fresh('repo');
    const repository = await open(directory);
    const snapshot = await createSnapshot(repository, [source], options);
    // The text shrinks far below its size; the noise costs its size; so the run adds well under 3 MiB.
    assert.ok(snapshot.added < 1.5 * MiB, `added ${snapshot.added}`);
    const blobs = await storedBlobs(repository);
    const chunks = blobs.filter((blob) => blob.type === 1);
    assert.equal(chunks.length, 12, 'eight text chunks and four noise chunks of 256 KiB');
    assert.equal(chunks.filter((blob) => blob.compression === BlobCompression.zstd).length, 8);
    assert.equal(chunks.filter((blob) => blob.compression === BlobCompression.stored).length, 4);
    for (const blob of chunks.filter((b) => b.compression === BlobCompression.stored)) {
      assert.ok(blob.length > blob.plainLength, 'a stored blob is its plaintext plus the seal');
    }
    // Trees are JSON, and compressed too.
    assert.ok(blobs.some((blob) => blob.type === 2 && blob.compression === BlobCompression.zstd));
    await assertRestores(repository, source, snapshot.id);
    // Without a compression given, the repository reads the same blobs with fzstd (the browser's).
    await assertRestores(await openWithoutCompression(directory), source, snapshot.id);
  });

  it('a repository opened without compression writes every blob as is', async () => {
    const source = await treeWith({ 'messages.db': chatText(MiB) });
    const repository = await openWithoutCompression(fresh('repo'));
    await createSnapshot(repository, [source], options);
    const blobs = await storedBlobs(repository);
    assert.ok(blobs.length > 0);
    assert.ok(blobs.every((blob) => blob.compression === BlobCompression.stored));
  });

  it('a compression that fails fails the run with its error, and lists no snapshot', async () => {
    const source = await treeWith({ 'messages.db': chatText(MiB) });
    const directory = fresh('repo');
    const failing: ChunkCompression = {
      compress: () => Promise.reject(new RangeError('compressor gone')),
      decompress: zstdCompression().decompress,
      inFlight: 4,
    };
    await assert.rejects(
      createSnapshot(await open(directory, failing), [source], options),
      /compressor gone/,
    );
    assert.deepEqual(await (await open(directory)).listSnapshots(), []);
    assert.deepEqual(
      (await readdir(directory)).filter((name) => name.startsWith(PACK_PREFIX)),
      [],
      'no pack was stored',
    );
  });
});

/** The bytes of the packs in a directory store. */
async function packBytes(directory: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(directory))
    if (name.startsWith(PACK_PREFIX)) total += (await stat(join(directory, name))).size;
  return total;
}

/** Pack times are "now": prunes here run as if two hours later, past the writers' grace period. */
const later = () => new Date(Date.now() + 2 * 60 * 60 * 1000);

/**
 * A repository of four snapshots, the first two forgotten. Their chunks fill three packs: one only
 * the forgotten snapshots used (deleted by prune), one of which half is still used (rewritten),
 * and one all used; each snapshot's trees fill a small pack of their own (FORMAT.md §12.5), so the
 * forgotten snapshots' two tree packs go too.
 */
async function pruneable() {
  const directory = fresh('repo');
  const repository = await open(directory);
  const noise = (length: number) => nodeCrypto.randomBytes(length);
  const gone = await treeWith({ 'gone.bin': noise(3 * MiB) });
  const halfSource = await treeWith({ 'old.bin': noise(3 * MiB), 'shared.bin': noise(3 * MiB) });
  const keptSource = await treeWith({ 'new.bin': noise(3 * MiB) });
  await rename(join(halfSource, 'shared.bin'), join(keptSource, 'shared.bin'));
  await createSnapshot(repository, [gone], options);
  await writeFile(join(halfSource, 'shared.bin'), await readFile(join(keptSource, 'shared.bin')));
  await createSnapshot(repository, [halfSource], options);
  const kept: { snapshot: SnapshotInfo; source: string }[] = [
    { snapshot: await createSnapshot(repository, [keptSource], options), source: keptSource },
  ];
  const grownSource = fresh('grown');
  execFileSync('cp', ['-a', keptSource, grownSource]);
  await writeFile(join(grownSource, 'more.txt'), chatText(100_000));
  kept.push({ snapshot: await createSnapshot(repository, [grownSource], options), source: grownSource });
  assert.equal((await forgetSnapshots(repository, { keepLast: 2 })).length, 2);
  return { directory, repository, kept };
}

/** Every kept snapshot restores to its source, and `check --read-data` finds nothing wrong. */
async function assertNothingLost(
  directory: string,
  kept: readonly { snapshot: SnapshotInfo; source: string }[],
) {
  const repository = await open(directory);
  assert.deepEqual((await checkRepository(repository, { readData: 1 })).problems, []);
  for (const { snapshot, source } of kept) await assertRestores(repository, source, snapshot.id);
}

/** A directory store whose `failAt`-th put or delete (from 0) fails as a lost connection would. */
class FailingStore extends DirectoryBlobStore {
  writes = 0;
  constructor(
    directory: string,
    private readonly failAt: number,
  ) {
    super(directory);
  }
  private step(): void {
    if (this.writes++ === this.failAt) throw new UnavailableError(`connection lost at write ${this.failAt}`);
  }
  override async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    this.step();
    return super.put(name, data);
  }
  override async delete(name: string): Promise<void> {
    this.step();
    return super.delete(name);
  }
}

describe('prune repacking', () => {
  it('rewrites a pack half of which is unused, deletes an unused one, and the kept snapshots still restore', async () => {
    const { directory, repository, kept } = await pruneable();
    const before = await packBytes(directory);
    const report = await pruneRepository(repository, { owner: 'test', now: later });
    assert.equal(report.packsRepacked, 1);
    assert.equal(report.packsDeleted, 4, 'the unused pack, the rewritten one and two tree packs');
    // gone.bin's 3 MiB and old.bin's 3 MiB are freed, less the padding of the new pack.
    const after = await packBytes(directory);
    assert.equal(report.bytesFreed, before - after);
    assert.ok(before - after > 5.9 * MiB, `freed ${before - after}`);
    assert.equal(
      (await readdir(directory)).filter((name) => name.startsWith(PACK_PREFIX)).length,
      report.packsKept,
    );
    await assertNothingLost(directory, kept);
    // Nothing is left to rewrite: a second prune changes nothing.
    const again = await pruneRepository(await open(directory), { owner: 'test', now: later });
    assert.deepEqual(again, {
      packsDeleted: 0,
      packsRepacked: 0,
      bytesFreed: 0,
      packsKept: report.packsKept,
    });
    assert.deepEqual(
      (await readdir(directory)).filter((name) => name.startsWith(LOCK_PREFIX)),
      [],
    );
  });

  it('keeps a pack whole while less than the threshold of it is unused', async () => {
    const { directory, repository, kept } = await pruneable();
    const report = await pruneRepository(repository, { owner: 'test', now: later, maxUnused: 0.6 });
    assert.equal(report.packsRepacked, 0);
    assert.equal(report.packsDeleted, 3, 'only the packs no snapshot uses: one of chunks, two of trees');
    await assertNothingLost(directory, kept);
  });

  it('a prune whose store fails at any one write loses nothing, and the next prune finishes the job', async () => {
    const template = await pruneable();
    const clean = fresh('clean');
    execFileSync('cp', ['-a', template.directory, clean]);
    await pruneRepository(await open(clean), { owner: 'test', now: later });
    const cleanBytes = await packBytes(clean);
    let failAt = 0;
    for (; ; failAt++) {
      const directory = fresh('crashed');
      execFileSync('cp', ['-a', template.directory, directory]);
      const store = new FailingStore(directory, failAt);
      const failing = await Repository.open(store, key, nodeCrypto, { compression: zstdCompression() });
      const outcome = await pruneRepository(failing, { owner: 'test', now: later }).then(
        () => 'done',
        (error: unknown) => error,
      );
      if (outcome === 'done') break;
      assert.ok(outcome instanceof UnavailableError, String(outcome));
      await assertNothingLost(directory, template.kept);
      // The lock of the failed run may be left behind; it expires, and the run two hours later
      // ignores it, as it does the packs the failed run left in no index.
      const report = await pruneRepository(await open(directory), {
        owner: 'test',
        now: () => new Date(Date.now() + 3 * 60 * 60 * 1000),
      });
      assert.ok(report.packsKept >= 1);
      await assertNothingLost(directory, template.kept);
      const bytes = await packBytes(directory);
      assert.ok(
        bytes <= cleanBytes + 64 * 1024,
        `after failing at write ${failAt}: ${bytes} > ${cleanBytes}`,
      );
    }
    // The lock, the new pack, the new index, the four snapshots' indexes, four old packs (two of
    // chunks, two of trees), the unlock.
    assert.equal(failAt, 12, 'every write of the prune was made to fail once');
  });

  // A real process killed with SIGKILL (no finally, no unlock) once the store shows it reached a
  // step. Where exactly it dies depends on the machine; whichever write it reached, nothing is lost.
  for (const [step, reached] of [
    [
      'a new pack stored',
      (names: string[], before: string[]) =>
        names.some((n) => n.startsWith(PACK_PREFIX) && !before.includes(n)),
    ],
    [
      'an old index deleted',
      (names: string[], before: string[]) =>
        before.some((n) => n.startsWith('repo.index.') && !names.includes(n)),
    ],
  ] as const) {
    it(`a prune killed once ${step} loses nothing, and the next prune finishes the job`, async () => {
      const { directory, kept } = await pruneable();
      const keyFile = join(work, `key-${counter++}.txt`);
      await writeFile(keyFile, `${key.format()}\n`);
      const before = await readdir(directory);
      const { child, result } = startCli(['backup', 'prune', '--from', directory, '--key-file', keyFile]);
      child.stdin.end();
      let exited = false;
      void result.then(() => {
        exited = true;
      });
      await eventually(
        () => readdir(directory),
        (names) => exited || reached(names, before),
        `the prune reaches "${step}"`,
        120_000,
      );
      child.kill('SIGKILL');
      const outcome = await result;
      assert.ok(
        outcome.signal === 'SIGKILL' || outcome.code === 0,
        `prune ended ${outcome.code}: ${outcome.stderr}`,
      );
      await assertNothingLost(directory, kept);
      await pruneRepository(await open(directory), {
        owner: 'test',
        now: () => new Date(Date.now() + 3 * 60 * 60 * 1000),
      });
      await assertNothingLost(directory, kept);
      assert.equal(
        (await readdir(directory)).filter((name) => name.startsWith(PACK_PREFIX)).length,
        5,
        'the two packs all used, the one holding the rewritten blobs, and the kept snapshots’ tree packs',
      );
    });
  }
});
