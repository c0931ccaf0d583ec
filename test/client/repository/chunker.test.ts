// Tests of the content-defined chunker (docs/FORMAT.md, "Chunking"): boundaries independent of how the
// input is split, sizes within bounds, insertions that disturb only nearby chunks, a keyed gear table,
// and the frozen vectors that a second implementation checks itself against.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type ChunkSizes,
  ContentDefinedChunker,
  DEFAULT_CHUNK_SIZES,
  gearTable,
} from '../../../src/client/repository/chunker.ts';
import { UsageError } from '../../../src/errors.ts';

const SMALL: ChunkSizes = { min: 2048, average: 8192, max: 65536 };
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i);

/** The vectors' input: SHA-256(uint32be(0)) || SHA-256(uint32be(1)) || …, cut to `length` bytes. */
function vectorInput(length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 32) * 32);
  const counter = Buffer.alloc(4);
  for (let k = 0; k * 32 < length; k++) {
    counter.writeUInt32BE(k);
    out.set(createHash('sha256').update(counter).digest(), k * 32);
  }
  return out.subarray(0, length);
}

/** Chunks `data` fed in pieces of the given lengths (cycled), and returns the chunks. */
function chunkAll(
  data: Uint8Array,
  sizes: ChunkSizes,
  seed = SEED,
  pieces: readonly number[] = [data.length],
) {
  const chunker = new ContentDefinedChunker(seed, sizes);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (let p = 0; at < data.length; p++) {
    const length = Math.max(1, pieces[p % pieces.length]!);
    chunks.push(...chunker.push(data.subarray(at, at + length)));
    at += length;
  }
  const last = chunker.finish();
  if (last !== undefined) chunks.push(last);
  return chunks;
}

/** The end offset of every chunk. */
function boundaries(chunks: readonly Uint8Array[]): number[] {
  let at = 0;
  return chunks.map((chunk) => {
    at += chunk.length;
    return at;
  });
}

const digest = (chunk: Uint8Array) => createHash('sha256').update(chunk).digest('hex');

describe('ContentDefinedChunker', () => {
  it('cuts the same boundaries however the input is split into push() calls', () => {
    const data = randomBytes(300_000);
    const whole = boundaries(chunkAll(data, SMALL));
    assert.ok(whole.length > 10, `expected many chunks, got ${whole.length}`);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 20 }),
        (pieces) => {
          assert.deepEqual(boundaries(chunkAll(data, SMALL, SEED, pieces)), whole);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('returns chunks that concatenate to the input, each within min..max except the last', () => {
    const data = randomBytes(1_000_000);
    const chunks = chunkAll(data, SMALL, SEED, [4096, 100_000, 1]);
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(data));
    for (const chunk of chunks.slice(0, -1)) {
      assert.ok(chunk.length > SMALL.min && chunk.length <= SMALL.max, `chunk of ${chunk.length} bytes`);
    }
    assert.ok(chunks.at(-1)!.length <= SMALL.max);
  });

  it('cuts a run of one byte value at max, since its hash never changes', () => {
    const chunks = chunkAll(new Uint8Array(200_000), SMALL);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [65536, 65536, 65536, 200_000 - 3 * 65536],
    );
  });

  it('hands out fresh copies that later pushes do not overwrite', () => {
    const chunker = new ContentDefinedChunker(SEED, SMALL);
    const data = randomBytes(200_000);
    const first = chunker.push(data);
    const copies = first.map((c) => Buffer.from(c));
    data.fill(0);
    chunker.push(randomBytes(200_000));
    assert.deepEqual(
      first.map((c) => Buffer.from(c)),
      copies,
    );
  });

  it('changes only the chunks near an insertion, so the rest still deduplicates', () => {
    // Fixed input: how many chunks after an insertion differ before the cuts fall back in step is
    // a matter of chance (normalized chunking cuts by distance from the last cut), usually one or
    // two, now and then more; random input made this test fail one run in a few.
    const input = vectorInput(2_000_100);
    const data = input.subarray(0, 2_000_000);
    const inserted = Buffer.concat([data.subarray(0, 5000), input.subarray(2_000_000), data.subarray(5000)]);
    const before = chunkAll(data, SMALL).map(digest);
    const after = chunkAll(inserted, SMALL).map(digest);
    const kept = new Set(before);
    const shared = after.filter((d) => kept.has(d)).length;
    assert.ok(before.length > 100);
    // Only the chunk holding the insertion (and rarely its successor) differs.
    assert.ok(shared >= before.length - 2, `${shared} of ${before.length} chunks shared`);
    assert.deepEqual(after.slice(2), before.slice(before.length - (after.length - 2)));
  });

  it('cuts elsewhere under another seed, so chunk sizes do not fingerprint a known file', () => {
    const data = randomBytes(1_000_000);
    const other = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    const mine = new Set(boundaries(chunkAll(data, SMALL)).slice(0, -1));
    const theirs = boundaries(chunkAll(data, SMALL, other)).slice(0, -1);
    const common = theirs.filter((b) => mine.has(b)).length;
    assert.ok(common < theirs.length / 10, `${common} of ${theirs.length} boundaries in common`);
  });

  it('averages near the target size on random data', () => {
    const data = randomBytes(8_000_000);
    const chunks = chunkAll(data, SMALL).slice(0, -1);
    const mean = chunks.reduce((sum, c) => sum + c.length, 0) / chunks.length;
    assert.ok(mean > 0.8 * SMALL.average && mean < 1.5 * SMALL.average, `mean chunk ${mean} bytes`);
  });

  it('rejects a seed that is not 32 bytes and sizes out of order', () => {
    assert.throws(() => new ContentDefinedChunker(new Uint8Array(16)), UsageError);
    assert.throws(
      () => new ContentDefinedChunker(SEED, { min: 8192, average: 4096, max: 65536 }),
      /chunk sizes must/,
    );
    assert.throws(() => new ContentDefinedChunker(SEED, { min: 10, average: 4096, max: 65536 }), UsageError);
  });

  describe('vectors (docs/FORMAT.md, "Chunking")', () => {
    it('derives the gear table from the seed', () => {
      const table = gearTable(SEED);
      assert.deepEqual([...table.subarray(0, 4)], VECTOR_GEAR_FIRST);
      assert.equal(createHash('sha256').update(table).digest('hex'), VECTOR_GEAR_SHA256);
    });

    it('cuts 1 MiB of the recipe at small sizes 2048/8192/65536', () => {
      assert.deepEqual(boundaries(chunkAll(vectorInput(1 << 20), SMALL)), VECTOR_SMALL);
    });

    it('cuts 24 MiB of the recipe at the default sizes', () => {
      assert.deepEqual(
        boundaries(chunkAll(vectorInput(24 << 20), DEFAULT_CHUNK_SIZES, SEED, [1 << 20])),
        VECTOR_DEFAULT,
      );
    });
  });
});

// Frozen vectors, generated once by this implementation and copied into docs/FORMAT.md, "Chunking".
// The seed is bytes 0x00..0x1f; the inputs are vectorInput() above.
const VECTOR_GEAR_FIRST = [2865490450, 4089094475, 2520223938, 3012522191];
const VECTOR_GEAR_SHA256 = '16246ecd19f0bebe899d7453b2a4b133b174f037698a5db2f8ddc2076dba7cb0';
const VECTOR_SMALL = [
  6624, 17367, 24543, 33577, 42682, 48824, 57728, 62887, 67327, 78625, 88080, 102470, 112014, 116376, 136049,
  146186, 156385, 165780, 174543, 179980, 189171, 201185, 215946, 225936, 236496, 245364, 253774, 273312,
  281855, 289103, 293668, 305336, 316020, 322717, 334096, 342890, 352473, 365076, 379680, 385828, 395126,
  397566, 407584, 416231, 425135, 434321, 443041, 447326, 459676, 469702, 473729, 483619, 492490, 501249,
  508105, 516674, 526465, 535057, 543461, 556165, 565715, 576827, 586235, 595183, 604691, 614205, 622577,
  632085, 640902, 649153, 661577, 671038, 677187, 689975, 698658, 707463, 716407, 727291, 735908, 744480,
  754743, 760281, 770773, 778993, 787377, 806580, 809101, 817619, 828078, 837675, 847905, 856309, 868009,
  872690, 881149, 889880, 898300, 900815, 906269, 921804, 933439, 945099, 949880, 958393, 967394, 975808,
  980897, 991147, 1002631, 1008429, 1017851, 1026334, 1031758, 1048316, 1048576,
];
const VECTOR_DEFAULT = [
  1100953, 2273996, 3861978, 6056337, 7252970, 8439818, 10332709, 11569362, 13378484, 14660807, 15813446,
  16653246, 18070641, 19239425, 20436035, 21595147, 22228317, 22918290, 24114710, 25165824,
];
