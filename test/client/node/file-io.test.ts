// File reading and writing helpers of src/client/node/file-io.ts and atomic-file.ts: block sizes,
// gathered writes, no overwrite, and no file left behind when the content fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFileAtomically } from '../../../src/client/node/atomic-file.ts';
import {
  readBackupBlocks,
  readFileBlocks,
  ringFor,
  writeAllTo,
  writeNewFile,
} from '../../../src/client/node/file-io.ts';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createWorkerCrypto } from '../../../src/client/node/worker-crypto.ts';
import type { Aead, FormatCrypto } from '../../../src/format/crypto.ts';
import { HEADER_LENGTH } from '../../../src/format/header.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DEFAULT_IN_FLIGHT, decryptStream, encryptStream } from '../../../src/format/stream.ts';
import { webCrypto } from '../../../src/format/webcrypto.ts';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-file-io-'));
});
after(() => rm(work, { recursive: true, force: true }));

async function* pieces(data: Buffer, size: number, failAfter = Number.POSITIVE_INFINITY) {
  for (let offset = 0; offset < data.length; offset += size) {
    if (offset >= failAfter) throw new Error('content failed');
    yield data.subarray(offset, offset + size);
  }
}

describe('file I/O', () => {
  it('reads a file in full blocks and a short last one', async () => {
    const data = randomBytes(10_000);
    await writeFile(join(work, 'in'), data);
    const blocks: Uint8Array[] = [];
    for await (const block of readFileBlocks(join(work, 'in'), { blockSize: 4096 })) blocks.push(block);
    assert.deepEqual(
      blocks.map((b) => b.length),
      [4096, 4096, 1808],
    );
    assert.deepEqual(Buffer.concat(blocks), data);
    const empty: Uint8Array[] = [];
    await writeFile(join(work, 'empty'), '');
    for await (const block of readFileBlocks(join(work, 'empty'))) empty.push(block);
    assert.deepEqual(empty, []);
  });

  it('reads into a ring of reused buffers when asked to', async () => {
    const data = randomBytes(10 * 1024 + 5);
    await writeFile(join(work, 'ring'), data);
    const copies: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for await (const block of readFileBlocks(join(work, 'ring'), { blockSize: 1024, ring: 3 })) {
      copies.push(Buffer.from(block));
      buffers.add(block.buffer);
    }
    assert.equal(copies.length, 11);
    assert.equal(buffers.size, 3);
    assert.deepEqual(Buffer.concat(copies), data);
  });

  it('a ring of ringFor(inFlight) blocks feeds encryptStream and decryptStream, whatever the Aead', async () => {
    // The ring is only safe if each crypto implementation is done with a block in time: a block
    // overwritten too early would give a stream that still opens, but to other bytes. Workers get
    // the shared ring and read blocks in place, after the main thread has moved on.
    const chunk = 1024;
    const data = randomBytes(40 * chunk + 100);
    await writeFile(join(work, 'plain'), data);
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const workers = createWorkerCrypto(2);
    try {
      for (const [crypto, inFlight, shared] of [
        [nodeCrypto, DEFAULT_IN_FLIGHT, false],
        [webCrypto, DEFAULT_IN_FLIGHT, false],
        [workers, workers.inFlight, true],
      ] as const) {
        const ring = ringFor(inFlight);
        const source = readFileBlocks(join(work, 'plain'), { blockSize: chunk, ring, shared });
        const sealed: Uint8Array[] = [];
        for await (const piece of encryptStream(source, key, { crypto, chunkSize: chunk }))
          sealed.push(piece);
        await writeFile(join(work, 'sealed'), sealed);
        const opened: Uint8Array[] = [];
        for await (const piece of decryptStream(
          readBackupBlocks(join(work, 'sealed'), { ring, shared }),
          key,
          {
            crypto,
          },
        ))
          opened.push(Buffer.from(piece));
        assert.deepEqual(Buffer.concat(opened), data);
      }
    } finally {
      await workers.close();
      key.destroy();
    }
  });

  it('ringFor is the smallest safe ring give or take its spare: two blocks fewer corrupt the stream', async () => {
    // An Aead that reads its input only after a delay, as a busy worker does: by then the reader
    // has refilled every ring buffer it could. With ringFor's ring the stream is intact; with two
    // buffers fewer, chunks are sealed from overwritten blocks.
    const chunk = 1024;
    const data = randomBytes(20 * chunk);
    await writeFile(join(work, 'slow'), data);
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const inFlight = 4;
    const slowCrypto: FormatCrypto = {
      ...nodeCrypto,
      async aes256Gcm(raw): Promise<Aead> {
        const inner = await nodeCrypto.aes256Gcm(raw);
        const later = () => new Promise((resolve) => setTimeout(resolve, 5));
        return {
          inFlight,
          seal: async (nonce, plaintext) => {
            await later();
            return inner.seal(nonce, plaintext);
          },
          open: async (nonce, sealed) => {
            await later();
            return inner.open(nonce, sealed);
          },
        };
      },
    };
    const roundTrip = async (ring: number) => {
      const sealed: Uint8Array[] = [];
      const source = readFileBlocks(join(work, 'slow'), { blockSize: chunk, ring });
      for await (const piece of encryptStream(source, key, { crypto: slowCrypto, chunkSize: chunk }))
        sealed.push(piece);
      const opened: Uint8Array[] = [];
      for await (const piece of decryptStream(pieces(Buffer.concat(sealed), 777), key, {
        crypto: nodeCrypto,
      }))
        opened.push(piece);
      return Buffer.concat(opened);
    };
    assert.deepEqual(await roundTrip(ringFor(inFlight)), data);
    assert.notDeepEqual(await roundTrip(ringFor(inFlight) - 2), data);
    key.destroy();
  });

  it('readBackupBlocks yields the header, then one sealed chunk per block', async () => {
    const chunk = 1024;
    const data = randomBytes(5 * chunk + 7);
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const sealed: Uint8Array[] = [];
    for await (const piece of encryptStream(pieces(data, 1000), key, {
      crypto: nodeCrypto,
      chunkSize: chunk,
    }))
      sealed.push(piece);
    await writeFile(join(work, 'aligned'), sealed);
    const sizes: number[] = [];
    for await (const block of readBackupBlocks(join(work, 'aligned'))) sizes.push(block.length);
    assert.deepEqual(sizes, [HEADER_LENGTH, ...Array(5).fill(chunk + 16), 7 + 16]);
    key.destroy();
  });

  it('readBackupBlocks passes a damaged header on for decryptStream to reject, and a short file as is', async () => {
    const garbage = randomBytes(HEADER_LENGTH + 5000);
    await writeFile(join(work, 'garbage'), garbage);
    const blocks: Uint8Array[] = [];
    for await (const block of readBackupBlocks(join(work, 'garbage'))) blocks.push(block);
    assert.deepEqual(Buffer.concat(blocks), garbage);
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    await assert.rejects(
      async () => {
        for await (const _ of decryptStream(readBackupBlocks(join(work, 'garbage')), key, {
          crypto: nodeCrypto,
        }));
      },
      { name: 'DamagedBackupError' },
    );
    await writeFile(join(work, 'short'), garbage.subarray(0, 10));
    const short: Uint8Array[] = [];
    for await (const block of readBackupBlocks(join(work, 'short'))) short.push(block);
    assert.deepEqual(Buffer.concat(short), garbage.subarray(0, 10));
    key.destroy();
  });

  it('writes many small pieces in gathered writes, byte for byte', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const handle = await open(join(work, 'out'), 'w');
    assert.equal(await writeAllTo(handle, pieces(data, 1000)), data.length);
    await handle.close();
    assert.deepEqual(await readFile(join(work, 'out')), data);
  });

  it('never overwrites with writeNewFile', async () => {
    await writeFile(join(work, 'exists'), 'old');
    await assert.rejects(writeNewFile(join(work, 'exists'), pieces(Buffer.from('new'), 1)), {
      code: 'EEXIST',
    });
    assert.equal(await readFile(join(work, 'exists'), 'utf8'), 'old');
  });

  it('writeFileAtomically replaces a file only when the content completes', async () => {
    const dir = await mkdtemp(join(work, 'atomic-'));
    const target = join(dir, 'file');
    await writeFile(target, 'previous');
    await assert.rejects(
      writeFileAtomically(target, pieces(randomBytes(5_000_000), 65536, 2_000_000)),
      /content failed/,
    );
    assert.equal(await readFile(target, 'utf8'), 'previous');
    assert.deepEqual(await readdir(dir), ['file']);
    await writeFileAtomically(target, pieces(Buffer.from('complete'), 3));
    assert.equal(await readFile(target, 'utf8'), 'complete');
    assert.deepEqual(await readdir(dir), ['file']);
  });
});
