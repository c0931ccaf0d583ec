// The repository on a real directory store (src/client/repository/*, src/client/node/repository-backup.ts;
// docs/FORMAT.md §12): round trips of real trees, deduplication measured in bytes uploaded, every
// kind of damage as a typed error that leaves nothing restored, wrong key, an interrupted run
// resumed, and two runs at once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { listSnapshot, snapshotEntries } from '../../../src/client/repository/browse.ts';
import { checkRepository } from '../../../src/client/repository/check.ts';
import { LOCK_PREFIX } from '../../../src/client/repository/lock.ts';
import { ObjectType } from '../../../src/client/repository/objects.ts';
import {
  forgetSnapshots,
  keptSnapshots,
  pruneRepository,
  RepositoryBusyError,
} from '../../../src/client/repository/prune.ts';
import { RepositoryReader } from '../../../src/client/repository/reader.ts';
import { PACK_PREFIX, Repository, SNAPSHOT_PREFIX } from '../../../src/client/repository/repository.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { DamagedBackupError, UnavailableError, WrongKeyError } from '../../../src/errors.ts';
import { BackupKey } from '../../../src/format/key.ts';
import type { BlobStore } from '../../../src/stores/blob/blob-store.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { fixedChunker } from './fixed-chunker.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
const MiB = 1024 * 1024;
const options = { chunker: () => fixedChunker() };
let work: string;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-repository-test-'));
});
after(() => execFileSync('rm', ['-rf', work]));

const open = (directory: string, withKey = key) =>
  Repository.openOrCreate(new DirectoryBlobStore(directory), withKey, nodeCrypto);

/**
 * The packs of `directory` that hold file chunks (trees fill packs of their own, §12.5), by the
 * blob types their verified headers list.
 */
async function chunkPacks(repository: Repository, directory: string): Promise<string[]> {
  const packs: string[] = [];
  for (const name of (await readdir(directory)).filter((n) => n.startsWith(PACK_PREFIX)).sort()) {
    const entries = await repository.readPackHeader(name);
    if (entries.some((entry) => entry.type === ObjectType.chunk)) packs.push(name);
  }
  return packs;
}

/** Random bytes (incompressible, unlike anything a dedup could find by accident). */
const noise = (length: number) => nodeCrypto.randomBytes(length);

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

describe('repository', () => {
  it('backs up and restores a copy of a real tree (node_modules packages and /usr/lib)', async () => {
    const source = fresh('real');
    await mkdir(source);
    for (const part of ['node_modules/commander', 'node_modules/typescript/lib', '/usr/lib/git-core']) {
      if (existsSync(part)) execFileSync('cp', ['-a', part, source]);
    }
    const repository = await open(fresh('repo'));
    const snapshot = await createSnapshot(repository, [source], options);
    assert.ok(snapshot.files > 100, `${snapshot.files} files`);
    await assertRestores(repository, source, snapshot.id);
    // A second snapshot of the unchanged tree uploads no chunk or tree: only its snapshot object.
    const second = await createSnapshot(repository, [source], options);
    assert.ok(second.added < 1024, `second snapshot added ${second.added} bytes`);
    assert.equal(second.tree, snapshot.tree);
    assert.deepEqual(
      (await repository.listSnapshots()).map((s) => s.id).sort(),
      [snapshot.id, second.id].sort(),
    );
    await assertRestores(repository, source, second.id);
  });

  it('stores content once across files, and a grown file re-uploads only its end', async () => {
    const photo = noise(3 * MiB);
    const source = await treeWith({
      'chat-a/photo.jpg': photo,
      'chat-b/photo.jpg': photo,
      'messages.db': noise(8 * MiB),
    });
    const repository = await open(fresh('repo'));
    const first = await createSnapshot(repository, [source], options);
    // 11 MiB of distinct content; the second photo adds nothing (plus packs' padding and metadata).
    assert.ok(first.added < 11.2 * MiB, `first added ${first.added}`);
    assert.ok(first.added >= 11 * MiB, `first added ${first.added}`);
    await appendFile(join(source, 'messages.db'), noise(100 * 1024));
    const second = await createSnapshot(repository, [source], options);
    // Only the last, partial chunk of the database and the new bytes, under 1 MiB with metadata.
    assert.ok(second.added < 1 * MiB, `second added ${second.added}`);
    await assertRestores(repository, source, first.id === second.id ? undefined : second.id);
  });

  it('restores one path inside a snapshot', async () => {
    const source = await treeWith({ 'a/b/one.txt': new TextEncoder().encode('one'), 'c.txt': noise(10) });
    const repository = await open(fresh('repo'));
    await createSnapshot(repository, [source], options);
    const to = fresh('restored');
    await restoreSnapshot(repository, { to, path: `${basename(source)}/a/b` });
    assert.deepEqual(await readdir(to), ['b']);
    assert.equal(await readFile(join(to, 'b', 'one.txt'), 'utf8'), 'one');
  });

  it('lists names that read as the same text apart, escaped, and reads each its own content', async () => {
    const source = fresh('source');
    await mkdir(source);
    // b'caf\xe9' and b'caf\xe8' both read as "caf\ufffd"; a real backslash must not pass for an escape.
    const names = { 'caf\\351': [0x63, 0x61, 0x66, 0xe9], 'caf\\350': [0x63, 0x61, 0x66, 0xe8] };
    for (const [escaped, bytes] of Object.entries(names)) {
      await writeFile(Buffer.concat([Buffer.from(`${source}/`), Buffer.from(bytes)]), escaped);
    }
    await writeFile(join(source, 'caf\\351'), 'a backslash');
    const repository = await open(fresh('repo'));
    const snapshot = await createSnapshot(repository, [source], options);
    const reader = await RepositoryReader.open(repository);
    const listing = await listSnapshot(reader, snapshot);
    const base = basename(source);
    assert.deepEqual(listing.entries.map((entry) => entry.path).sort(), [
      base,
      `${base}/caf\\350`,
      `${base}/caf\\351`,
      `${base}/caf\\\\351`,
    ]);
    const wanted = new Set([`${base}/caf\\350`, `${base}/caf\\\\351`]);
    const read: Record<string, string> = {};
    for await (const entry of snapshotEntries(reader, listing, wanted)) {
      if (entry.type !== 'file') continue;
      const pieces: Uint8Array[] = [];
      for await (const piece of entry.content) pieces.push(piece);
      read[entry.path] = Buffer.concat(pieces).toString();
    }
    assert.deepEqual(read, { [`${base}/caf\\350`]: 'caf\\350', [`${base}/caf\\\\351`]: 'a backslash' });
  });
});

describe('repository damage', () => {
  /** A repository with one snapshot of a 3 MiB file and a small one, in one pack. */
  async function damaged() {
    const directory = fresh('repo');
    const source = await treeWith({ 'big.bin': noise(3 * MiB), 'small.txt': noise(100) });
    const repository = await open(directory);
    const snapshot = await createSnapshot(repository, [source], options);
    const packs = await chunkPacks(repository, directory);
    return { directory, source, repository, snapshot, packs };
  }

  /** Restoring fails with DamagedBackupError matching `message`, and nothing appears in the target. */
  async function assertRestoreDamaged(repository: Repository, message: RegExp, id?: string) {
    const to = fresh('restored');
    await assert.rejects(restoreSnapshot(repository, { to, id }), (error: unknown) => {
      assert.ok(error instanceof DamagedBackupError, String(error));
      assert.match(error.message, message);
      return true;
    });
    assert.deepEqual(existsSync(to) ? await readdir(to) : [], []);
    assert.deepEqual(
      (await readdir(join(to, '..'))).filter((name) => name.includes('strongroom-restore')),
      [],
      'no staging directory left',
    );
  }

  it('a flipped byte in a pack is damage, and nothing is restored', async () => {
    const { directory, repository, packs } = await damaged();
    const path = join(directory, packs[0]!);
    const bytes = await readFile(path);
    bytes[1000]! ^= 1;
    await writeFile(path, bytes);
    await assertRestoreDamaged(repository, /fails to authenticate/);
  });

  it('a dropped pack is damage', async () => {
    const { directory, repository, packs } = await damaged();
    await rename(join(directory, packs[0]!), join(work, `dropped-${counter++}`));
    await assertRestoreDamaged(repository, /missing from the store/);
  });

  it('swapped packs are damage', async () => {
    const a = await damaged();
    // A second pack in the same repository, then the two swap names.
    await createSnapshot(a.repository, [await treeWith({ 'other.bin': noise(2 * MiB) })], options);
    const packs = await chunkPacks(a.repository, a.directory);
    assert.equal(packs.length, 2);
    const [p, q] = packs.map((name) => join(a.directory, name)) as [string, string];
    await rename(p, `${p}.tmp`);
    await rename(q, p);
    await rename(`${p}.tmp`, q);
    await assertRestoreDamaged(
      a.repository,
      /fails to authenticate|not the blob|shorter than its index says/,
      a.snapshot.id,
    );
  });

  it('a snapshot replayed from another repository under the same key is damage, not a wrong key', async () => {
    const a = await damaged();
    const b = await damaged();
    const name = SNAPSHOT_PREFIX + b.snapshot.id;
    await writeFile(join(a.directory, name), await readFile(join(b.directory, name)));
    await assert.rejects(a.repository.listSnapshots(), DamagedBackupError);
    await assertRestoreDamaged(a.repository, /does not belong to this repository/, b.snapshot.id);
  });

  it('a snapshot renamed over another is damage', async () => {
    const a = await damaged();
    const second = await createSnapshot(a.repository, [a.source], options);
    const [one, two] = [a.snapshot.id, second.id].map((id) => join(a.directory, SNAPSHOT_PREFIX + id)) as [
      string,
      string,
    ];
    await writeFile(one, await readFile(two));
    await assertRestoreDamaged(a.repository, /stored in the wrong place/, a.snapshot.id);
  });

  it('an index mixed in from another repository is damage', async () => {
    const a = await damaged();
    const b = await damaged();
    const index = (await readdir(b.directory)).find((name) => name.startsWith('repo.index.'))!;
    await writeFile(join(a.directory, index), await readFile(join(b.directory, index)));
    await assertRestoreDamaged(a.repository, /index .* does not belong to this repository/);
  });

  it('a wrong key is a wrong key, and a damaged config is damage', async () => {
    const { directory } = await damaged();
    const other = BackupKey.generate(nodeCrypto.randomBytes);
    await assert.rejects(open(directory, other), WrongKeyError);
    const config = join(directory, 'repo.config');
    const bytes = await readFile(config);
    bytes[20]! ^= 1;
    await writeFile(config, bytes);
    await assert.rejects(
      open(directory),
      (error: unknown) => error instanceof DamagedBackupError && /checksum/.test(error.message),
    );
    await assert.rejects(open(directory, other), DamagedBackupError);
  });
});

/** A directory store whose connection drops after `allowedPuts` uploads (a network gone mid-run). */
class DroppingStore extends DirectoryBlobStore implements BlobStore {
  constructor(
    directory: string,
    private allowedPuts: number,
  ) {
    super(directory);
  }
  override async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    if (this.allowedPuts-- <= 0) throw new UnavailableError('connection lost');
    return super.put(name, data);
  }
}

describe('repository interruption and concurrency', () => {
  it('a run interrupted after some packs lists no snapshot; the next uploads only what is missing', async () => {
    const directory = fresh('repo');
    const source = await treeWith({ 'a.bin': noise(20 * MiB), 'b.bin': noise(20 * MiB) });
    await open(directory); // writes the config
    // The config is there; one 16 MiB pack gets through, then the connection drops.
    const dropping = await Repository.open(new DroppingStore(directory, 1), key, nodeCrypto);
    await assert.rejects(createSnapshot(dropping, [source], options), UnavailableError);
    const repository = await open(directory);
    assert.deepEqual(await repository.listSnapshots(), []);
    const resumed = await createSnapshot(repository, [source], options);
    assert.ok(resumed.added < 40 * MiB - 15 * MiB, `resumed run added ${resumed.added}`);
    await assertRestores(repository, source, resumed.id);
  });

  it('two runs at once on one repository both succeed', async () => {
    const directory = fresh('repo');
    await open(directory);
    const one = await treeWith({ 'x.bin': noise(5 * MiB) });
    const two = await treeWith({ 'y.bin': noise(5 * MiB) });
    const [a, b] = await Promise.all([
      open(directory).then((r) => createSnapshot(r, [one], options)),
      open(directory).then((r) => createSnapshot(r, [two], options)),
    ]);
    const repository = await open(directory);
    assert.equal((await repository.listSnapshots()).length, 2);
    await assertRestores(repository, one, a.id);
    await assertRestores(repository, two, b.id);
  });
});

describe('repository check', () => {
  it('finds a sound repository sound, a dropped pack without reading data, a flipped byte only when reading it', async () => {
    const directory = fresh('repo');
    const repository = await open(directory);
    await createSnapshot(
      repository,
      [await treeWith({ 'a.bin': noise(2 * MiB), 'b.txt': noise(10) })],
      options,
    );
    const sound = await checkRepository(repository, { readData: 1 });
    assert.deepEqual(sound.problems, []);
    assert.equal(sound.packsRead, 2, 'its chunk pack and its tree pack');
    assert.equal(sound.snapshots, 1);

    const [pack] = (await chunkPacks(repository, directory)) as [string];
    const bytes = await readFile(join(directory, pack));
    bytes[500]! ^= 1;
    await writeFile(join(directory, pack), bytes);
    assert.deepEqual(
      (await checkRepository(repository)).problems,
      [],
      'structure alone does not read the chunk',
    );
    const read = await checkRepository(repository, { readData: 1 });
    assert.equal(read.problems.length, 1);
    assert.match(read.problems[0]!, /fails to authenticate/);
    // A subset of 0 % reads no pack in full.
    assert.equal((await checkRepository(repository, { readData: 0 })).packsRead, 0);

    await rename(join(directory, pack), join(work, `dropped-${counter++}`));
    const dropped = await checkRepository(repository);
    assert.ok(
      dropped.problems.some((line) => /missing from the store/.test(line)),
      dropped.problems.join('\n'),
    );
  });
});

describe('repository forget and prune', () => {
  it('keeps what the policy says, frees the packs only forgotten snapshots used, and the rest still restores', async () => {
    const directory = fresh('repo');
    const repository = await open(directory);
    const day = (n: number) => new Date(Date.UTC(2026, 10, n, 12));
    const old = await treeWith({ 'old.bin': noise(3 * MiB) });
    const current = await treeWith({ 'new.bin': noise(3 * MiB) });
    await createSnapshot(repository, [old], { ...options, time: day(1) });
    await createSnapshot(repository, [old], { ...options, time: day(2) });
    const kept = await createSnapshot(repository, [current], { ...options, time: day(3) });
    assert.deepEqual(keptSnapshots(await repository.listSnapshots(), { keepLast: 1 }), new Set([kept.id]));
    assert.equal(keptSnapshots(await repository.listSnapshots(), { keepDaily: 2 }).size, 2);
    assert.equal((await forgetSnapshots(repository, { keepLast: 1 })).length, 2);
    // Pack times are "now": the prune runs as if two hours later, past the writers' grace period.
    const later = () => new Date(Date.now() + 2 * 60 * 60 * 1000);
    const report = await pruneRepository(repository, { owner: 'test', now: later });
    assert.equal(report.packsDeleted, 2, "the old snapshots' chunk pack and tree pack");
    assert.ok(report.bytesFreed > 3 * MiB, `${report.bytesFreed}`);
    assert.deepEqual((await checkRepository(repository, { readData: 1 })).problems, []);
    await assertRestores(repository, current, kept.id);
    assert.deepEqual(
      (await readdir(directory)).filter((name) => name.startsWith(LOCK_PREFIX)),
      [],
      'lock released',
    );
  });

  it('refuses while another run holds a live lock or a writer has a recent pack in no index', async () => {
    const directory = fresh('repo');
    const repository = await open(directory);
    await createSnapshot(repository, [await treeWith({ 'a.bin': noise(MiB) })], options);
    await repository.putMetadata(ObjectType.lock, `${LOCK_PREFIX}${'ab'.repeat(16)}`, {
      owner: 'other-host:1234',
      expires: new Date(Date.now() + 60_000).toISOString(),
    });
    await assert.rejects(pruneRepository(repository, { owner: 'test' }), (error: unknown) => {
      assert.ok(error instanceof RepositoryBusyError);
      assert.match(error.message, /locked by "other-host:1234"/);
      return true;
    });
    await rm(join(directory, `${LOCK_PREFIX}${'ab'.repeat(16)}`));
    // A writer whose connection dropped after its first pack: that pack is in no index yet.
    const dropping = await Repository.open(new DroppingStore(directory, 1), key, nodeCrypto);
    await assert.rejects(
      createSnapshot(dropping, [await treeWith({ 'b.bin': noise(20 * MiB) })], options),
      UnavailableError,
    );
    await assert.rejects(pruneRepository(repository, { owner: 'test' }), /is in no index yet/);
    const packs = (await readdir(directory)).filter((name) => name.startsWith(PACK_PREFIX));
    assert.equal(packs.length, 3, "nothing deleted: the first run's two packs and the dropped run's one");
  });
});
