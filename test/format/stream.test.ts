// The STREAM construction of src/format/stream.ts (docs/FORMAT.md "Chunks"): round trips at the
// chunk boundaries and for random inputs and piece sizes (fast-check), both crypto implementations
// reading each other's output, and the checks that need more than a vector file.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { decryptWebStream, encryptWebStream } from '../../src/client/index.ts';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { decryptNodeStream, encryptNodeStream } from '../../src/client/node/streams.ts';
import { createWorkerCrypto } from '../../src/client/node/worker-crypto.ts';
import { DamagedBackupError, WrongKeyError } from '../../src/errors.ts';
import type { FormatCrypto } from '../../src/format/crypto.ts';
import { HEADER_LENGTH } from '../../src/format/header.ts';
import { BackupKey } from '../../src/format/key.ts';
import { chunkNonce, decryptStream, encryptStream, TAG_LENGTH } from '../../src/format/stream.ts';
import { webCrypto } from '../../src/format/webcrypto.ts';

const CHUNK = 1024;
const key = BackupKey.generate(nodeCrypto.randomBytes);
const workerCrypto = createWorkerCrypto(2);
after(() => workerCrypto.close());

async function* inPieces(data: Uint8Array, pieceSize: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.length || offset === 0; offset += pieceSize) {
    yield data.subarray(offset, offset + pieceSize);
    if (data.length === 0) return;
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

const encrypt = (data: Uint8Array, crypto: FormatCrypto = nodeCrypto, pieceSize = 700) =>
  collect(encryptStream(inPieces(data, pieceSize), key, { crypto, chunkSize: CHUNK }));
const decrypt = (stream: Uint8Array, crypto: FormatCrypto = nodeCrypto, pieceSize = 333, k = key) =>
  collect(decryptStream(inPieces(stream, pieceSize), k, { crypto }));

describe('backup stream', () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 17]) {
    it(`round-trips ${size} bytes with the expected length, across the implementations`, async () => {
      const data = nodeCrypto.randomBytes(size);
      const chunks = Math.max(1, Math.ceil(size / CHUNK));
      for (const [sealer, opener] of [
        [nodeCrypto, nodeCrypto],
        [nodeCrypto, webCrypto],
        [webCrypto, nodeCrypto],
        [workerCrypto, webCrypto],
        [nodeCrypto, workerCrypto],
      ] as const) {
        const stream = await encrypt(data, sealer);
        assert.equal(stream.length, HEADER_LENGTH + size + chunks * TAG_LENGTH);
        assert.deepEqual(await decrypt(stream, opener), Buffer.from(data));
      }
    });
  }

  it('round-trips any payload cut into any pieces (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4 * CHUNK + 50 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 3000 }),
        async (data, inPiece, outPiece) => {
          const stream = await encrypt(data, nodeCrypto, inPiece);
          assert.deepEqual(await decrypt(stream, nodeCrypto, outPiece), Buffer.from(data));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives two encryptions of the same payload different salts and ciphertexts', async () => {
    const data = new Uint8Array(100);
    const [a, b] = [await encrypt(data), await encrypt(data)];
    assert.notDeepEqual(a.subarray(13, 45), b.subarray(13, 45));
    assert.notDeepEqual(a.subarray(HEADER_LENGTH), b.subarray(HEADER_LENGTH));
  });

  it('rejects a wrong key from the header alone, before reading any chunk', async () => {
    const stream = await encrypt(nodeCrypto.randomBytes(3 * CHUNK));
    let pulledPastHeader = false;
    async function* headerThenTrap(): AsyncGenerator<Uint8Array> {
      yield stream.subarray(0, HEADER_LENGTH);
      pulledPastHeader = true;
      yield stream.subarray(HEADER_LENGTH);
    }
    const other = BackupKey.generate(nodeCrypto.randomBytes);
    await assert.rejects(
      collect(decryptStream(headerThenTrap(), other, { crypto: nodeCrypto })),
      WrongKeyError,
    );
    assert.equal(pulledPastHeader, false);
  });

  it('names a short file of another kind "not a backup", and a backup cut inside its header "truncated"', async () => {
    const stream = await encrypt(new Uint8Array(10));
    for (const other of [
      new Uint8Array(0),
      new TextEncoder().encode('hello\n'),
      stream.subarray(0, 3).map((b) => b ^ 1),
    ]) {
      await assert.rejects(decrypt(other), {
        name: 'DamagedBackupError',
        message: /^not a Strongroom backup/,
      });
    }
    for (const cut of [1, 7, 8, 60, HEADER_LENGTH - 1]) {
      await assert.rejects(decrypt(stream.subarray(0, cut)), {
        name: 'DamagedBackupError',
        message: /^backup truncated: it ends inside the header/,
      });
    }
  });

  it('releases no plaintext of a chunk whose tag fails', async () => {
    const stream = await encrypt(nodeCrypto.randomBytes(3 * CHUNK + 10));
    stream[HEADER_LENGTH + (CHUNK + TAG_LENGTH) + 3]! ^= 0x80; // chunk 1
    const released: Uint8Array[] = [];
    await assert.rejects(async () => {
      for await (const piece of decryptStream(inPieces(stream, 4096), key, { crypto: nodeCrypto }))
        released.push(piece);
    }, /chunk 1 failed to decrypt/);
    assert.equal(Buffer.concat(released).length, CHUNK); // chunk 0 only
  });

  it('reports every single-bit flip anywhere in a stream as wrong key or damaged', async () => {
    const stream = await encrypt(nodeCrypto.randomBytes(2 * CHUNK + 5));
    for (let offset = 0; offset < stream.length; offset += 7) {
      const copy = Uint8Array.from(stream);
      copy[offset]! ^= 1 << (offset % 8);
      await assert.rejects(
        decrypt(copy),
        (e) => e instanceof DamagedBackupError || e instanceof WrongKeyError,
      );
    }
  });

  it('builds nonces as an 88-bit big-endian counter and a last-chunk flag', () => {
    assert.deepEqual(chunkNonce(0, false), new Uint8Array(12));
    assert.deepEqual(chunkNonce(1, true), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1));
    assert.deepEqual(chunkNonce(2 ** 40 + 2, false), Uint8Array.of(0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0));
    assert.throws(() => chunkNonce(-1, false), RangeError);
  });

  it('works on web streams and Node streams (SDK entry points)', async () => {
    const data = nodeCrypto.randomBytes(3 * 65536 + 5);
    const web = encryptWebStream(new Blob([data as Uint8Array<ArrayBuffer>]).stream(), key);
    const webPlain = decryptWebStream(web, key);
    assert.deepEqual(Buffer.from(await new Response(webPlain).arrayBuffer()), Buffer.from(data));

    const stream = await collect(encryptNodeStream(inPieces(data, 5000), key, { chunkSize: CHUNK }));
    assert.deepEqual(await collect(decryptNodeStream(inPieces(stream, 999), key)), Buffer.from(data));
    const other = BackupKey.generate(nodeCrypto.randomBytes);
    await assert.rejects(collect(decryptNodeStream(inPieces(stream, 999), other)), WrongKeyError);
  });
});
