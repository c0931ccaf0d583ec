// A pack of very many small blobs (src/client/repository/writer.ts; docs/FORMAT.md §12.5): a
// snapshot of many small files fills one pack with some 100,000 blobs or more; the writer stores
// it, its index lists them all, and each reads back. Adds that overlap (files read side by side)
// fill and upload packs one at a time, and every pack they fill is in the index.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { ObjectType } from '../../../src/client/repository/objects.ts';
import { RepositoryReader } from '../../../src/client/repository/reader.ts';
import { PACK_PREFIX, Repository } from '../../../src/client/repository/repository.ts';
import { RepositoryWriter } from '../../../src/client/repository/writer.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-many-blobs-test-'));
});
after(() => execFileSync('rm', ['-rf', work]));

describe('a pack of many small blobs', () => {
  it('is stored and indexed whole, with more blobs than a call takes arguments', {
    timeout: 600_000,
  }, async () => {
    const repository = await Repository.openOrCreate(
      new DirectoryBlobStore(join(work, 'repo')),
      BackupKey.generate(nodeCrypto.randomBytes),
      nodeCrypto,
    );
    const writer = await RepositoryWriter.start(repository);
    // Spreading about 125,000 values into one call overflows V8's default stack.
    const count = 200_000;
    const ids: string[] = [];
    const blob = (i: number) => new Uint8Array(new Uint32Array([i]).buffer);
    for (let i = 0; i < count; i++) ids.push(await writer.add(ObjectType.chunk, blob(i)));
    const tree = await writer.add(ObjectType.tree, new TextEncoder().encode('{"entries":[]}'));
    await writer.commit({ time: new Date().toISOString(), paths: [], tree, files: 0, size: 0 });
    const reader = await RepositoryReader.open(repository);
    assert.equal(reader.index.size, count + 1);
    for (const i of [0, 1, count / 2, count - 1]) {
      assert.deepEqual(
        Buffer.from(await reader.blob(ids[i]!, ObjectType.chunk)),
        Buffer.from(blob(i).buffer),
      );
    }
  });

  it('indexes every blob of overlapping adds that fill several packs', async () => {
    // A slow store, as over a mobile network: packs fill while the one before is uploading.
    const uploads = { running: 0, most: 0 };
    const slow = new (class extends DirectoryBlobStore {
      override async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
        if (!name.startsWith(PACK_PREFIX)) return super.put(name, data);
        uploads.most = Math.max(uploads.most, ++uploads.running);
        try {
          await sleep(100 + Math.floor(Math.random() * 400));
          return await super.put(name, data);
        } finally {
          uploads.running--;
        }
      }
    })(join(work, 'overlapping'));
    const repository = await Repository.openOrCreate(
      slow,
      BackupKey.generate(nodeCrypto.randomBytes),
      nodeCrypto,
    );
    const writer = await RepositoryWriter.start(repository);
    // 96 random MiB in 4 overlapping streams of adds: six full packs (16 MiB, §12.5), whose
    // uploads would overlap, and whose entries the index could miss, if adds ran side by side.
    const blobs = Array.from({ length: 96 }, () => nodeCrypto.randomBytes(1024 * 1024));
    const ids: string[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (stream) => {
        for (let i = stream; i < blobs.length; i += 4) ids[i] = await writer.add(ObjectType.chunk, blobs[i]!);
      }),
    );
    const tree = await writer.add(ObjectType.tree, new TextEncoder().encode('{"entries":[]}'));
    await writer.commit({ time: new Date().toISOString(), paths: [], tree, files: 0, size: 0 });
    assert.equal(uploads.most, 1, 'one pack upload at a time, so at most two packs are held');
    const reader = await RepositoryReader.open(repository);
    assert.equal(reader.index.size, blobs.length + 1);
    for (let i = 0; i < blobs.length; i++)
      assert.deepEqual(Buffer.from(await reader.blob(ids[i]!, ObjectType.chunk)), Buffer.from(blobs[i]!));
  });
});
