// ChatD's blob service and backup list (src/chatd/blob-storage.ts, connection.ts; client side
// src/client/chatd/blob-store.ts): streamed multi-chunk transfers, quota, account isolation, one
// object per upload (a replaced blob's object deleted once replaced, a crash's leftovers swept).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ORPHAN_GRACE_MS } from '../../src/chatd/blob-storage.ts';
import { ChatdBlobStore } from '../../src/client/chatd/blob-store.ts';
import { ChatdRequestError } from '../../src/client/chatd/errors.ts';
import { BackupEntry } from '../../src/protocol/chatd/backups.ts';
import { ErrorCode } from '../../src/protocol/chatd/errors.ts';
import { MAX_BLOB_CHUNK_BYTES } from '../../src/protocol/chatd/message.ts';
import { BlobNotFoundError } from '../../src/stores/blob/blob-store.ts';
import { eventually } from '../helpers/eventually.ts';
import { type Harness, startChatd } from './helpers.ts';

async function* pieces(data: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return new Uint8Array(Buffer.concat(parts));
}

/** Every file under the data dir's blob folder, temporaries included. */
function blobFiles(h: Harness): string[] {
  const root = join(h.dataDir, 'blobs');
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('blob storage through ChatD', () => {
  let h: Harness;
  const QUOTA = 3 * 1024 * 1024;
  before(async () => {
    h = await startChatd({ quotaBytes: QUOTA });
  });
  after(() => h.close());

  it('streams a multi-chunk blob up and down byte for byte', async () => {
    const store = new ChatdBlobStore(await h.join('pat'));
    const data = Uint8Array.from(randomBytes(MAX_BLOB_CHUNK_BYTES * 5 + 3));
    // Odd-sized input pieces exercise the regrouping into protocol chunks.
    assert.equal(await store.put('b-1.srb', pieces(data, 70_001)), data.length);
    assert.deepEqual(await collect(store.get('b-1.srb')), data);
    const [info] = await store.list('b-');
    assert.equal(info?.name, 'b-1.srb');
    assert.equal(info?.size, data.length);
    // An empty blob is a blob too.
    assert.equal(await store.put('empty', pieces(new Uint8Array(0), 1)), 0);
    assert.equal((await collect(store.get('empty'))).length, 0);
    await store.delete('b-1.srb');
    await assert.rejects(collect(store.get('b-1.srb')), BlobNotFoundError);
    await assert.rejects(store.delete('b-1.srb'), BlobNotFoundError);
  });

  it('refuses an upload past the quota and leaves nothing of it behind', async () => {
    const client = await h.join('quinn');
    const store = new ChatdBlobStore(client);
    const first = Uint8Array.from(randomBytes(2 * 1024 * 1024));
    await store.put('first', pieces(first, 65536));
    const filesBefore = blobFiles(h).length;
    await assert.rejects(store.put('second', pieces(randomBytes(2 * 1024 * 1024), 65536)), (e: unknown) => {
      assert.ok(e instanceof ChatdRequestError);
      assert.equal(e.code, ErrorCode.quotaExceeded);
      return true;
    });
    assert.deepEqual(
      (await store.list()).map((b) => b.name),
      ['first'],
    );
    assert.equal(blobFiles(h).length, filesBefore);
    const info = await client.accountInfo();
    assert.equal(info.usedBytes, BigInt(first.length));
    assert.equal(info.quotaBytes, BigInt(QUOTA));
    // Replacing a blob counts only the difference, and the connection still works.
    await store.put('first', pieces(first.subarray(0, 1000), 500));
    assert.equal((await client.accountInfo()).usedBytes, 1000n);
  });

  it('writes each upload to an object of its own, deletes the replaced one, sweeps what a crash left', async () => {
    const store = new ChatdBlobStore(await h.join('ursula'));
    const before = new Set(blobFiles(h));
    const first = Uint8Array.from(randomBytes(1000));
    await store.put('notes', pieces(first, 300));
    const [firstObject] = blobFiles(h).filter((f) => !before.has(f));
    assert.ok(
      firstObject !== undefined && basename(firstObject) !== 'notes',
      'stored under a name of its own',
    );
    const second = Uint8Array.from(randomBytes(2000));
    await store.put('notes', pieces(second, 700));
    const now = blobFiles(h).filter((f) => !before.has(f));
    assert.equal(now.length, 1, 'the replaced object is deleted');
    assert.notEqual(now[0], firstObject, 'the new upload did not overwrite the old object');
    assert.deepEqual(await collect(store.get('notes')), second);

    // What a ChatD killed between storing an object and indexing it leaves: objects nothing points
    // at. The next upload's sweep deletes the one past the grace period and keeps the young one,
    // which could be another ChatD's upload about to be indexed.
    const accountDir = dirname(now[0]!);
    const stale = join(accountDir, `o-${'a'.repeat(32)}`);
    const young = join(accountDir, `o-${'b'.repeat(32)}`);
    writeFileSync(stale, 'left by a crash');
    writeFileSync(young, 'being indexed elsewhere');
    const longAgo = new Date(Date.now() - 2 * ORPHAN_GRACE_MS);
    utimesSync(stale, longAgo, longAgo);
    await store.put('other', pieces(first, 1000));
    await eventually(
      async () => blobFiles(h),
      (files) => !files.includes(stale),
      'the sweep deletes the stale object',
    );
    assert.ok(blobFiles(h).includes(young), 'the young unindexed object is kept');
    assert.deepEqual(await collect(store.get('notes')), second, 'indexed blobs are untouched');
    assert.deepEqual(await collect(store.get('other')), first);
  });

  it("keeps accounts apart: one cannot list, read or delete another's blobs", async () => {
    const owner = new ChatdBlobStore(await h.join('rupert'));
    await owner.put('secret.srb', pieces(Uint8Array.of(1, 2, 3), 3));
    const other = new ChatdBlobStore(await h.join('sybil'));
    assert.deepEqual(await other.list(), []);
    await assert.rejects(collect(other.get('secret.srb')), BlobNotFoundError);
    await assert.rejects(other.delete('secret.srb'), BlobNotFoundError);
    assert.deepEqual(await collect(owner.get('secret.srb')), Uint8Array.of(1, 2, 3));
  });

  it('keeps the backup list per account', async () => {
    const trent = await h.join('trent');
    const entry = new BackupEntry({
      id: 'b-20260101',
      size: 1234n,
      createdAtMs: 1_700_000_000_000n,
      location: 'chatd:',
    });
    await trent.addBackup(entry);
    assert.deepEqual(await trent.listBackups(), [entry]);
    const victor = await h.join('victor');
    assert.deepEqual(await victor.listBackups(), []);
    await assert.rejects(victor.removeBackup('b-20260101'), BlobNotFoundError);
    await trent.removeBackup('b-20260101');
    assert.deepEqual(await trent.listBackups(), []);
  });
});
