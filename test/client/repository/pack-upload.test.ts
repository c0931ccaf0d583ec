// Packs streamed to a real directory store while they fill (src/client/repository/pack-upload.ts,
// writer.ts; docs/FORMAT.md §12.8): the store receives a pack's blobs before the pack is complete,
// and a run that fails while one is streaming, or whose store fails in the middle of one, fails
// with that error and leaves neither a pack nor a partial file behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot } from '../../../src/client/node/repository-backup.ts';
import { zstdCompression } from '../../../src/client/node/zstd-compression.ts';
import type { ChunkCompression } from '../../../src/client/repository/compression.ts';
import { PACK_PREFIX, PACK_TARGET_SIZE, Repository } from '../../../src/client/repository/repository.ts';
import { BackupKey } from '../../../src/format/key.ts';
import type { BlobStore } from '../../../src/stores/blob/blob-store.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { fixedChunker } from './fixed-chunker.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
const MiB = 1024 * 1024;
let work: string;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-pack-upload-test-'));
});
after(() => execFileSync('rm', ['-rf', work]));

/** A directory holding one file of `bytes` random bytes. */
async function sourceOf(bytes: number): Promise<string> {
  const source = fresh('source');
  await mkdir(source);
  await writeFile(join(source, 'media.bin'), randomBytes(bytes));
  return source;
}

/**
 * A directory store that counts the bytes each pack's put has been given so far, and can fail a
 * put once it was given `failAfter` bytes (a disk filling up in the middle of a pack).
 */
class CountingStore {
  readonly inner: DirectoryBlobStore;
  readonly received = new Map<string, number>();
  constructor(
    readonly directory: string,
    private readonly failAfter = Number.POSITIVE_INFINITY,
  ) {
    this.inner = new DirectoryBlobStore(directory);
  }
  asStore(): BlobStore {
    const counting = this;
    return {
      location: this.inner.location,
      put: (name, data) => {
        if (!name.startsWith(PACK_PREFIX)) return this.inner.put(name, data);
        async function* counted(): AsyncGenerator<Uint8Array> {
          for await (const piece of data) {
            const total = (counting.received.get(name) ?? 0) + piece.length;
            counting.received.set(name, total);
            if (total > counting.failAfter) throw new Error('no space left on the test store');
            yield piece;
          }
        }
        return this.inner.put(name, counted());
      },
      get: (name) => this.inner.get(name),
      list: (prefix, onIgnored) => this.inner.list(prefix, onIgnored),
      delete: (name) => this.inner.delete(name),
    };
  }
  /** What the store holds of packs and partial files. */
  async leftovers(): Promise<string[]> {
    return (await readdir(this.directory)).filter(
      (name) => name.startsWith(PACK_PREFIX) || name.startsWith('.partial-'),
    );
  }
}

const open = (store: BlobStore, compression: ChunkCompression = zstdCompression()) =>
  Repository.openOrCreate(store, key, nodeCrypto, { compression });

describe('packs streamed while they fill', () => {
  it('the store has most of a pack before the pack is complete', async () => {
    const store = new CountingStore(fresh('repo'));
    // 12 MiB: one pack, below PACK_TARGET_SIZE, so it is complete only when the run commits.
    assert.ok(12 * MiB < PACK_TARGET_SIZE);
    const source = await sourceOf(12 * MiB);
    let receivedWhenReadDone = -1;
    let read = 0;
    await createSnapshot(await open(store.asStore()), [source], {
      chunker: () => fixedChunker(MiB),
      onBytes: (bytes) => {
        read += bytes;
        if (read === 12 * MiB) receivedWhenReadDone = Math.max(0, ...store.received.values());
      },
    });
    // The last MiB read is still being sealed, and up to 2 MiB may wait in the upload's queue.
    assert.ok(
      receivedWhenReadDone >= 8 * MiB,
      `the store had ${receivedWhenReadDone} bytes of the pack when the file was read`,
    );
  });

  it('a run that fails while a pack streams leaves no pack and no partial file', async () => {
    const store = new CountingStore(fresh('repo'));
    const source = await sourceOf(8 * MiB);
    let calls = 0;
    const failing: ChunkCompression = {
      compress: (plain) =>
        ++calls === 6 ? Promise.reject(new RangeError('compressor gone')) : zstdCompression().compress(plain),
      decompress: zstdCompression().decompress,
    };
    await assert.rejects(
      createSnapshot(await open(store.asStore(), failing), [source], { chunker: () => fixedChunker(MiB) }),
      (error: unknown) => error instanceof RangeError && error.message === 'compressor gone',
    );
    assert.ok(Math.max(0, ...store.received.values()) > 0, 'the pack had begun streaming');
    // The store finishes discarding the abandoned pack on its own time: wait for its partial file to go.
    for (let i = 0; i < 100 && (await store.leftovers()).length > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await store.leftovers(), []);
    assert.deepEqual(await (await open(store.inner)).listSnapshots(), []);
  });

  it('a store that fails in the middle of a pack fails the run with its error', async () => {
    const store = new CountingStore(fresh('repo'), 3 * MiB);
    const source = await sourceOf(10 * MiB);
    await assert.rejects(
      createSnapshot(await open(store.asStore()), [source], { chunker: () => fixedChunker(MiB) }),
      (error: unknown) => error instanceof Error && error.message === 'no space left on the test store',
    );
    assert.deepEqual(await store.leftovers(), []);
    assert.deepEqual(await (await open(store.inner)).listSnapshots(), []);
  });
});
