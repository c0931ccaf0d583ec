// Packs on a real directory store (src/client/repository/writer.ts, reader.ts, prune.ts;
// docs/FORMAT.md §12.5, §12.14): blobs are stored zstd-compressed when that makes them smaller
// and as is otherwise, both platforms' decoders restore them, and prune repacks partly used packs
// without ever losing a used blob, whichever of its store writes fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { zstdCompression } from '../../../src/client/node/zstd-compression.ts';
import type { ChunkCompression } from '../../../src/client/repository/compression.ts';
import { openObject } from '../../../src/client/repository/objects.ts';
import {
  BlobCompression,
  PACK_PREFIX,
  type PackEntry,
  Repository,
  readWhole,
} from '../../../src/client/repository/repository.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
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
