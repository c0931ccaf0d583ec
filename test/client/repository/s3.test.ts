// The repository on S3 (s3rver, test/stores/blob/s3rver.ts; docs/FORMAT.md §12): a snapshot, a
// deduplicated second one, a restore and a check through the S3 blob store.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { checkRepository } from '../../../src/client/repository/check.ts';
import { Repository } from '../../../src/client/repository/repository.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { S3BlobStore } from '../../../src/stores/blob/s3.ts';
import { type LocalS3, startLocalS3 } from '../../stores/blob/s3rver.ts';
import { fixedChunker } from './fixed-chunker.ts';

let s3: LocalS3;
let work: string;
before(async () => {
  s3 = await startLocalS3(['repos']);
  work = await mkdtemp(join(tmpdir(), 'strongroom-repository-s3-test-'));
});
after(async () => {
  await s3.stop();
  execFileSync('rm', ['-rf', work]);
});

describe('repository on S3', () => {
  it('round-trips a tree, stores an unchanged second snapshot in under 1 KiB, and checks every byte', async () => {
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const source = join(work, 'chat');
    await mkdir(join(source, 'media'), { recursive: true });
    await writeFile(join(source, 'messages.db'), nodeCrypto.randomBytes(3 * 1024 * 1024));
    await writeFile(join(source, 'media', 'photo.jpg'), nodeCrypto.randomBytes(500_000));
    const store = new S3BlobStore('s3://repos/phone', { endpoint: s3.endpoint });
    const repository = await Repository.openOrCreate(store, key, nodeCrypto);
    const options = { chunker: () => fixedChunker() };
    const first = await createSnapshot(repository, [source], options);
    assert.ok(first.added > 3.4 * 1024 * 1024, `first added ${first.added}`);
    const second = await createSnapshot(repository, [source], options);
    assert.ok(second.added < 1024, `second added ${second.added}`);
    const reopened = await Repository.open(
      new S3BlobStore('s3://repos/phone', { endpoint: s3.endpoint }),
      key,
      nodeCrypto,
    );
    assert.equal((await reopened.listSnapshots()).length, 2);
    const to = join(work, 'restored');
    await restoreSnapshot(reopened, { to, id: first.id });
    assert.deepEqual((await compareTrees(source, join(to, basename(source)))).differences, []);
    const report = await checkRepository(reopened, { readData: 1 });
    assert.deepEqual(report.problems, []);
    assert.equal(report.packsRead, report.packs);
  });
});
