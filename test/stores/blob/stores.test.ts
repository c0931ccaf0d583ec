// The blob stores of src/stores/blob (directory.ts, s3.ts) against one contract: streamed put and
// get, listing, deletion, "not found", names that could escape, and that a put which fails midway
// leaves no blob behind. The S3 store runs against a real s3rver started here on a loopback port.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateMultipartUploadCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { UnavailableError, UsageError } from '../../../src/errors.ts';
import { BlobNotFoundError, type BlobStore } from '../../../src/stores/blob/blob-store.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { openBlobStore } from '../../../src/stores/blob/open.ts';
import { parseS3Url, S3BlobStore } from '../../../src/stores/blob/s3.ts';
import { type LocalS3, startCrashableS3, startLocalS3, unfinishedUploads } from './s3rver.ts';

let work: string;
let s3: LocalS3;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-store-test-'));
  s3 = await startLocalS3(['backups']);
});
after(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});

async function* pieces(
  total: number,
  size: number,
  failAt = Number.POSITIVE_INFINITY,
): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < total; offset += size) {
    if (offset >= failAt) throw new Error('source failed');
    yield new Uint8Array(Math.min(size, total - offset)).fill(offset % 251);
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

function contract(label: string, makeStore: () => BlobStore, leftovers: () => Promise<string[]>) {
  describe(`${label} blob store`, () => {
    it('streams a blob in and out, lists and deletes it', async () => {
      const store = makeStore();
      // 20 MiB: more than two S3 multipart parts.
      const size = 20 * 1024 * 1024 + 3;
      assert.equal(await store.put('big.srb', pieces(size, 1 << 20)), size);
      await store.put('small.srb', pieces(10, 10));
      const got = await collect(store.get('big.srb'));
      assert.deepEqual(got, await collect(pieces(size, 1 << 20)));
      const listed = await store.list();
      assert.deepEqual(
        listed.map((b) => [b.name, b.size]),
        [
          ['big.srb', size],
          ['small.srb', 10],
        ],
      );
      assert.ok(listed[0]!.modified.getTime() > Date.now() - 600_000);
      assert.deepEqual(
        (await store.list('sm')).map((b) => b.name),
        ['small.srb'],
      );
      await store.delete('big.srb');
      assert.deepEqual(
        (await store.list()).map((b) => b.name),
        ['small.srb'],
      );
    });

    it('throws BlobNotFoundError for a missing blob', async () => {
      await assert.rejects(collect(makeStore().get('missing.srb')), BlobNotFoundError);
    });

    it('leaves no blob behind when the data fails midway', async () => {
      const store = makeStore();
      await assert.rejects(
        store.put('broken.srb', pieces(12 * 1024 * 1024, 1 << 20, 9 * 1024 * 1024)),
        /source failed/,
      );
      assert.ok(!(await store.list()).some((b) => b.name === 'broken.srb'));
      assert.deepEqual(await leftovers(), []);
    });

    it('refuses names that could escape or clash with temporary files', async () => {
      const store = makeStore();
      for (const name of ['../x', '.hidden', 'a/b', '', 'x'.repeat(201)]) {
        await assert.rejects(store.put(name, pieces(1, 1)), UsageError);
      }
    });
  });
}

contract(
  'directory',
  () => new DirectoryBlobStore(join(work, 'dir-store')),
  async () => (await readdir(join(work, 'dir-store'))).filter((n) => n.startsWith('.')),
);
contract(
  'S3',
  () => new S3BlobStore('s3://backups/some/prefix', { endpoint: s3.endpoint }),
  () => unfinishedUploads(s3.endpoint, 'backups', 'some/prefix/'),
);

describe('S3 locations', () => {
  it('parses s3://bucket/prefix and refuses malformed ones', () => {
    assert.deepEqual(parseS3Url('s3://my-bucket/a/b/'), { bucket: 'my-bucket', prefix: 'a/b' });
    assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
    assert.throws(() => parseS3Url('s3://'), UsageError);
    assert.throws(() => parseS3Url('s3://UPPER/x'), UsageError);
  });

  it('opens S3 with the endpoint from AWS_ENDPOINT_URL and keeps prefixes apart', async () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = s3.endpoint;
    try {
      const store = await openBlobStore('s3://backups/other-prefix');
      assert.ok(store instanceof S3BlobStore);
      await store.put('only-here.srb', pieces(5, 5));
      assert.deepEqual(
        (await store.list()).map((b) => b.name),
        ['only-here.srb'],
      );
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = saved;
    }
  });

  it('reports an unreachable endpoint as UnavailableError', async () => {
    const store = new S3BlobStore('s3://backups', { endpoint: 'http://127.0.0.1:9' });
    await assert.rejects(store.list(), UnavailableError);
  });
});

describe('S3 uploads and servers that go away', () => {
  it("a put aborts unfinished uploads old enough to be a dead run's, and keeps newer ones", async () => {
    // What a run killed mid-upload leaves: a multipart upload with a part and no completion.
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
    try {
      const { UploadId } = await client.send(
        new CreateMultipartUploadCommand({
          Bucket: 'backups',
          Key: 'dead/20260101T000000.000Z-00000000.srb',
        }),
      );
      await client.send(
        new UploadPartCommand({
          Bucket: 'backups',
          Key: 'dead/20260101T000000.000Z-00000000.srb',
          UploadId,
          PartNumber: 1,
          Body: new Uint8Array(5 * 2 ** 20),
        }),
      );
    } finally {
      client.destroy();
    }
    assert.deepEqual(await unfinishedUploads(s3.endpoint, 'backups', 'dead/'), [
      'dead/20260101T000000.000Z-00000000.srb',
    ]);
    // A day has not passed: with the default age it may still be a live run's, and stays.
    await new S3BlobStore('s3://backups/dead', { endpoint: s3.endpoint }).put('a.srb', pieces(10, 10));
    assert.equal((await unfinishedUploads(s3.endpoint, 'backups', 'dead/')).length, 1);
    const sweeping = new S3BlobStore('s3://backups/dead', { endpoint: s3.endpoint, abandonedUploadAgeMs: 0 });
    await sweeping.put('b.srb', pieces(10, 10));
    assert.deepEqual(await unfinishedUploads(s3.endpoint, 'backups', 'dead/'), []);
    assert.deepEqual(
      (await sweeping.list()).map((b) => b.name),
      ['a.srb', 'b.srb'],
    );
  });

  for (const direction of ['get', 'put'] as const) {
    it(`a server killed mid-${direction}: UnavailableError that names the cause`, async () => {
      const server = await startCrashableS3(['crashing']);
      const store = new S3BlobStore('s3://crashing', { endpoint: server.endpoint });
      try {
        const size = 64 * 2 ** 20;
        if (direction === 'get') await store.put('big.srb', pieces(size, 1 << 20));
        let moved = 0;
        async function* crashingHalfway(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
          for await (const piece of source) {
            moved += piece.length;
            if (moved >= size / 4 && moved - piece.length < size / 4) await server.crash();
            yield piece;
          }
        }
        const transfer =
          direction === 'get'
            ? collect(crashingHalfway(store.get('big.srb')))
            : store.put('big.srb', crashingHalfway(pieces(size, 1 << 20)));
        await assert.rejects(
          transfer,
          (e) =>
            e instanceof UnavailableError &&
            /^S3 store s3:\/\/crashing could not be reached: \S/.test(e.message),
        );
      } finally {
        store.destroy();
        await server.crash();
      }
    });
  }
});
