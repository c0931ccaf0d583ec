// A repository for the web page's tests, made by the real SDK (Repository.openOrCreate and
// createSnapshot into a directory store, as `strongroom backup snapshot` does) from a small tree on
// disk, backed up on two days: the second day appends to the messages and adds a photo.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { createSnapshot } from '../../src/client/node/repository-backup.ts';
import { zstdCompression } from '../../src/client/node/zstd-compression.ts';
import { ContentDefinedChunker } from '../../src/client/repository/chunker.ts';
import { ObjectType } from '../../src/client/repository/objects.ts';
import { RepositoryReader } from '../../src/client/repository/reader.ts';
import { Repository, type SnapshotInfo } from '../../src/client/repository/repository.ts';
import type { TreeEntry } from '../../src/client/repository/tree.ts';
import { BackupKey } from '../../src/format/key.ts';
import { DirectoryBlobStore } from '../../src/stores/blob/directory.ts';
import { sha256 } from './fixtures.ts';

/** Small chunks (the real content-defined chunker), so a few hundred KiB make many chunks. */
const SIZES = { min: 2048, average: 8192, max: 65536 };

export interface RepositoryFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface SampleRepository {
  readonly dir: string;
  /** The repository's folder (a directory store). */
  readonly folder: string;
  readonly key: BackupKey;
  /** Oldest first. */
  readonly snapshots: readonly SnapshotInfo[];
  /** The files of each snapshot, by path, in the same order. */
  readonly files: readonly ReadonlyMap<string, RepositoryFile>[];
}

const DAY_ONE = new Date('2026-03-04T05:06:07Z');
const DAY_TWO = new Date('2026-03-05T05:06:07Z');

async function filesOf(root: string, prefix: string): Promise<Map<string, RepositoryFile>> {
  const found = new Map<string, RepositoryFile>();
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = full.slice(root.length + 1);
    const bytes = await readFile(full);
    found.set(path, { path, size: bytes.length, sha256: sha256(bytes) });
  }
  return found;
}

/** Makes the tree, backs it up on day one, changes it and backs it up on day two. */
export async function makeSampleRepository(): Promise<SampleRepository> {
  const dir = await mkdtemp(join(tmpdir(), 'strongroom-web-repo-'));
  const root = join(dir, 'chat');
  await mkdir(join(root, 'media'), { recursive: true });
  await writeFile(join(root, 'messages.txt'), 'hello from day one\n'.repeat(2000));
  await writeFile(join(root, 'media', 'photo.bin'), randomBytes(150_000));
  await writeFile(join(root, 'media', 'empty.bin'), new Uint8Array(0));
  for (const path of ['messages.txt', 'media/photo.bin', 'media/empty.bin', 'media', '.']) {
    await utimes(join(root, path), DAY_ONE, DAY_ONE);
  }
  const folder = join(dir, 'repository');
  const key = BackupKey.generate(nodeCrypto.randomBytes);
  // zstd as the CLI writes, so the page's tests read compressed blobs through fzstd too.
  const repository = await Repository.openOrCreate(new DirectoryBlobStore(folder), key, nodeCrypto, {
    compression: zstdCompression(),
  });
  const chunker = (seed: Uint8Array) => new ContentDefinedChunker(seed, SIZES);
  try {
    const files = [await filesOf(dir, 'chat')];
    const first = await createSnapshot(repository, [root], { chunker, time: DAY_ONE });
    await appendFile(join(root, 'messages.txt'), 'and more on day two\n'.repeat(500));
    await writeFile(join(root, 'media', 'second.bin'), randomBytes(40_000));
    files.push(await filesOf(dir, 'chat'));
    const second = await createSnapshot(repository, [root], { chunker, time: DAY_TWO });
    return { dir, folder, key, snapshots: [first, second], files };
  } finally {
    repository.close();
  }
}

/** Where one blob of the repository lies: its pack's file and the blob's offset in it. */
export interface BlobPlace {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * Finds, with the SDK, where the first chunk of `path` in `snapshot` is stored, or, for `'tree'`,
 * the snapshot's root tree.
 */
export async function placeOf(
  sample: SampleRepository,
  snapshot: SnapshotInfo,
  what: { chunkOf: string } | 'root tree',
): Promise<BlobPlace> {
  const repository = await Repository.open(new DirectoryBlobStore(sample.folder), sample.key, nodeCrypto);
  try {
    const reader = await RepositoryReader.open(repository);
    let id = snapshot.tree;
    if (what !== 'root tree') {
      let entries = (await reader.tree(snapshot.tree)).entries;
      let entry: TreeEntry | undefined;
      for (const part of what.chunkOf.split('/')) {
        entry = entries.find((candidate) => candidate.name === part);
        if (entry?.kind === 'dir') entries = (await reader.tree(entry.tree!)).entries;
      }
      id = entry?.content?.[0] ?? '';
    }
    const location = reader.index.get(id);
    if (location === undefined) throw new Error(`no blob for ${JSON.stringify(what)}`);
    if (what === 'root tree' && location.type !== ObjectType.tree) throw new Error('not a tree');
    return { pack: location.pack, offset: location.offset, length: location.length };
  } finally {
    repository.close();
  }
}

/** Copies the repository's folder to `into`, with one bit flipped in the middle of a blob. */
export async function damagedRepository(
  sample: SampleRepository,
  place: BlobPlace,
  into: string,
): Promise<string> {
  await mkdir(into, { recursive: true });
  for (const name of await readdir(sample.folder)) {
    const bytes = await readFile(join(sample.folder, name));
    if (name === place.pack) bytes[place.offset + Math.floor(place.length / 2)]! ^= 0x01;
    await writeFile(join(into, name), bytes);
  }
  return into;
}

/** A deeper tree, like a real home folder: a long-named project five folders down, a folder of many photos. */
export interface DeepRepository {
  readonly dir: string;
  readonly folder: string;
  readonly key: BackupKey;
  readonly snapshot: SnapshotInfo;
  /** Every file of the snapshot, by path. */
  readonly files: ReadonlyMap<string, RepositoryFile>;
  /** The project's folder, whose name is long for a phone's breadcrumb. */
  readonly project: string;
  /** How many files the photos folder holds. */
  readonly photos: number;
}

export async function makeDeepRepository(photos = 400): Promise<DeepRepository> {
  const dir = await mkdtemp(join(tmpdir(), 'strongroom-web-deep-'));
  const project = 'home/ann/projects/a-project-with-a-rather-long-folder-name-for-phone-screens';
  const contents: Record<string, Uint8Array> = {
    'home/ann/notes.txt': new TextEncoder().encode('notes\n'.repeat(100)),
    [`${project}/README.md`]: new TextEncoder().encode('# project\n'),
    [`${project}/src/main.ts`]: new TextEncoder().encode('console.log("hi");\n'.repeat(50)),
    [`${project}/src/lib/deep.bin`]: randomBytes(30_000),
    [`${project}/src/lib/empty.txt`]: new Uint8Array(0),
  };
  for (let i = 0; i < photos; i++) {
    contents[`home/ann/photos/img-${String(i).padStart(4, '0')}.jpg`] = randomBytes(64 + (i % 7));
  }
  for (const [path, bytes] of Object.entries(contents)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), bytes);
  }
  const folder = join(dir, 'repository');
  const key = BackupKey.generate(nodeCrypto.randomBytes);
  const repository = await Repository.openOrCreate(new DirectoryBlobStore(folder), key, nodeCrypto, {
    compression: zstdCompression(),
  });
  try {
    const snapshot = await createSnapshot(repository, [join(dir, 'home')], {
      chunker: (seed) => new ContentDefinedChunker(seed, SIZES),
      time: DAY_ONE,
    });
    return { dir, folder, key, snapshot, files: await filesOf(dir, 'home'), project, photos };
  } finally {
    repository.close();
  }
}
