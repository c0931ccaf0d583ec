// A pack of very many small blobs (src/client/repository/writer.ts; docs/FORMAT.md §12.5): a
// snapshot of many small files fills one pack with some 100,000 blobs or more; the writer stores
// it, its index lists them all, and each reads back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { ObjectType } from '../../../src/client/repository/objects.ts';
import { RepositoryReader } from '../../../src/client/repository/reader.ts';
import { Repository } from '../../../src/client/repository/repository.ts';
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
});
