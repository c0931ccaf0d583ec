// Tests of chunk compression (docs/ARCHITECTURE.md, "Compression"): zstd through libzstd on Node and
// fzstd in the browser round-trip, agree with each other, and turn damaged input into DamagedBackupError.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { zstdCompression } from '../../../src/client/node/zstd-compression.ts';
import { fzstdDecompression } from '../../../src/client/repository/compression.ts';
import { DamagedBackupError } from '../../../src/errors.ts';

/** Compressible, realistic input: this repository's own source, repeated. */
/** Byte equality whatever the view class (libzstd returns Buffers, fzstd Uint8Arrays). */
const sameBytes = (actual: Uint8Array, expected: Uint8Array) =>
  assert.deepEqual(Buffer.from(actual), Buffer.from(expected));

const text = new Uint8Array(
  Buffer.concat(Array.from({ length: 40 }, () => readFileSync(new URL(import.meta.url)))),
);

describe('chunk compression', () => {
  for (const level of [1, 3]) {
    it(`round-trips text and random bytes at zstd level ${level}, read back by both decoders`, () => {
      const zstd = zstdCompression(level);
      for (const plain of [text, new Uint8Array(randomBytes(300_000)), new Uint8Array(0)]) {
        const packed = zstd.compress(plain);
        sameBytes(zstd.decompress(packed, plain.length), plain);
        sameBytes(fzstdDecompression.decompress(packed, plain.length), plain);
      }
      assert.ok(zstd.compress(text).length < text.length / 4, 'source text should compress well');
    });
  }

  it('decodes identically on Node and in the browser for any input', () => {
    const zstd = zstdCompression();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 50 }), (bytes, repeat) => {
        const plain = new Uint8Array(Buffer.concat(Array.from({ length: repeat }, () => bytes)));
        const packed = zstd.compress(plain);
        sameBytes(fzstdDecompression.decompress(packed, plain.length), zstd.decompress(packed, plain.length));
      }),
      { numRuns: 100 },
    );
  });

  it('reports a wrong recorded length as damage, on both decoders', () => {
    const zstd = zstdCompression();
    const packed = zstd.compress(text);
    for (const decoder of [zstd, fzstdDecompression]) {
      assert.throws(() => decoder.decompress(packed, text.length - 1), DamagedBackupError);
      assert.throws(() => decoder.decompress(packed, text.length + 1), DamagedBackupError);
      assert.throws(() => decoder.decompress(packed, -1), /recorded length -1 is out of range/);
    }
  });

  it('reports damaged, truncated or foreign input as DamagedBackupError, never a crash or a wrong length', () => {
    const zstd = zstdCompression();
    const packed = zstd.compress(text);
    const damaged: Uint8Array[] = [
      packed.subarray(0, packed.length - 5),
      packed.subarray(0, 3),
      new Uint8Array(0),
      new Uint8Array(randomBytes(1000)),
      new Uint8Array(text.subarray(0, 1000)),
    ];
    for (let i = 0; i < 50; i++) {
      const flipped = new Uint8Array(packed);
      flipped[(i * 7919) % flipped.length]! ^= 1 << (i % 8);
      damaged.push(flipped);
    }
    for (const bytes of damaged) {
      for (const decoder of [zstd, fzstdDecompression]) {
        let plain: Uint8Array | undefined;
        try {
          plain = decoder.decompress(bytes, text.length);
        } catch (error) {
          assert.ok(error instanceof DamagedBackupError, `expected DamagedBackupError, got ${String(error)}`);
          continue;
        }
        // A flip in a literal may decode to the right length; zstd's checksum is off, so say what came out.
        assert.equal(plain.length, text.length);
      }
    }
  });

  it('never allocates what a frame claims: a bomb is damage on both decoders', () => {
    // A frame of 64 MiB of zeros is a few KiB; recorded as a 1000-byte chunk it must fail at once,
    // without either decoder producing the 64 MiB.
    const bomb = zstdCompression().compress(new Uint8Array(64 * 1024 * 1024));
    assert.ok(bomb.length < 64 * 1024, `the bomb is ${bomb.length} bytes`);
    for (const decoder of [zstdCompression(), fzstdDecompression]) {
      assert.throws(() => decoder.decompress(bomb, 1000), DamagedBackupError);
    }
    assert.throws(() => fzstdDecompression.decompress(bomb, 65 * 1024 * 1024), /is out of range/);
  });
});
