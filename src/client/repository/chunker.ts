// Content-defined chunking of repository files: FastCDC with normalized chunking and a keyed gear
// table (docs/FORMAT.md, "Chunking"). Browser-safe: no `node:` imports.
import { expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { UsageError } from '../../errors.ts';

/** Bounds and target of chunk lengths, in bytes. Every chunk but a file's last is within min..max. */
export interface ChunkSizes {
  readonly min: number;
  readonly average: number;
  readonly max: number;
}

/** 512 KiB / 1 MiB / 8 MiB (docs/FORMAT.md, "Chunking"). */
export const DEFAULT_CHUNK_SIZES: ChunkSizes = {
  min: 512 * 1024,
  average: 1024 * 1024,
  max: 8 * 1024 * 1024,
};

/** HKDF-Expand info that turns the gear seed into the gear table (docs/FORMAT.md, "Chunking"). */
export const GEAR_TABLE_LABEL = 'strongroom repository chunker gear v1';

const GEAR_SEED_LENGTH = 32;
/** Smallest `min` accepted: the gear hash looks at the last 32 bytes, so shorter chunks make no sense. */
const SMALLEST_MIN = 64;
/** Largest `max` accepted: one chunk is held in memory while it is being cut. */
const LARGEST_MAX = 64 * 1024 * 1024;

/**
 * The 256 gear values, 32 bits each: HKDF-Expand(SHA-256, seed, label, 1024) read as little-endian
 * uint32. 32-bit values keep the rolling hash in JavaScript's fast int32 arithmetic; a 64-bit hash
 * would need BigInt or two halves and gains nothing here, since the masks use at most 24 bits.
 */
export function gearTable(gearSeed: Uint8Array): Uint32Array {
  if (gearSeed.length !== GEAR_SEED_LENGTH) {
    throw new UsageError(`the chunker's gear seed must be ${GEAR_SEED_LENGTH} bytes, not ${gearSeed.length}`);
  }
  const bytes = expand(sha256, gearSeed, new TextEncoder().encode(GEAR_TABLE_LABEL), 1024);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) table[i] = view.getUint32(i * 4, true);
  bytes.fill(0);
  return table;
}

/** A mask of the top `bits` bits of a 32-bit word, as int32 (the hash is kept as int32). */
function topBits(bits: number): number {
  return (0xffffffff << (32 - bits)) | 0;
}

function checkSizes(sizes: ChunkSizes): void {
  const { min, average, max } = sizes;
  const integers = [min, average, max].every((n) => Number.isSafeInteger(n));
  if (!integers || min < SMALLEST_MIN || !(min < average && average < max) || max > LARGEST_MAX) {
    throw new UsageError(
      `chunk sizes must be integers with ${SMALLEST_MIN} <= min < average < max <= ${LARGEST_MAX}, not ${min}/${average}/${max}`,
    );
  }
}

/**
 * Cuts a byte stream into chunks whose boundaries depend only on the content and the gear seed, so
 * that an insertion changes only the chunks around it. Feed the stream with `push` in pieces of any
 * size; the boundaries do not depend on how the stream was split.
 */
export class ContentDefinedChunker {
  readonly #gear: Uint32Array;
  readonly #min: number;
  readonly #average: number;
  readonly #max: number;
  /** Used before the chunk reaches `average`: two bits more than log2(average), so cuts are rarer. */
  readonly #maskSmall: number;
  /** Used from `average` on: two bits fewer, so cuts come sooner (normalized chunking, level 2). */
  readonly #maskLarge: number;
  /**
   * The bytes of the current chunk received in earlier `push` calls. Grown as a chunk needs, up to
   * `max`: a chunker reading small files (several side by side) then holds no more than they are.
   */
  #pending = new Uint8Array(0);
  #pendingLength = 0;
  /** The rolling gear hash of the current chunk, as int32. */
  #hash = 0;

  constructor(gearSeed: Uint8Array, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES) {
    checkSizes(sizes);
    this.#gear = gearTable(gearSeed);
    this.#min = sizes.min;
    this.#average = sizes.average;
    this.#max = sizes.max;
    const bits = Math.round(Math.log2(sizes.average));
    this.#maskSmall = topBits(Math.min(31, bits + 2));
    this.#maskLarge = topBits(Math.max(1, bits - 2));
  }

  /** The chunks that `data` completes, in order; each is a fresh copy the caller owns. */
  push(data: Uint8Array): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let start = 0; // where the current chunk's part in `data` begins
    while (start < data.length) {
      const cut = this.#findCut(data, start);
      if (cut < 0) {
        this.#reserve(this.#pendingLength + data.length - start);
        this.#pending.set(data.subarray(start), this.#pendingLength);
        this.#pendingLength += data.length - start;
        break;
      }
      const chunk = new Uint8Array(this.#pendingLength + cut - start);
      chunk.set(this.#pending.subarray(0, this.#pendingLength));
      chunk.set(data.subarray(start, cut), this.#pendingLength);
      chunks.push(chunk);
      this.#pendingLength = 0;
      this.#hash = 0;
      start = cut;
    }
    return chunks;
  }

  /** Makes room for `length` bytes of pending chunk (at most `max`: #findCut cuts there). */
  #reserve(length: number): void {
    if (length <= this.#pending.length) return;
    const grown = new Uint8Array(Math.min(this.#max, Math.max(length, 2 * this.#pending.length)));
    grown.set(this.#pending.subarray(0, this.#pendingLength));
    this.#pending = grown;
  }

  /** The last, possibly short, chunk, or undefined if the stream ended on a boundary (or was empty). */
  finish(): Uint8Array | undefined {
    if (this.#pendingLength === 0) return undefined;
    const last = this.#pending.slice(0, this.#pendingLength);
    this.#pendingLength = 0;
    this.#hash = 0;
    return last;
  }

  /**
   * Scans `data` from `start`, where the current chunk already holds `#pendingLength` bytes, and
   * returns the index in `data` just past the chunk's last byte, or -1 if the chunk goes on. The
   * hash absorbs the chunk's bytes from offset `min` on; after absorbing the byte at offset j the
   * chunk ends there (length j + 1) if the hash has all bits of the mask clear, the mask being
   * `#maskSmall` while j + 1 < average and `#maskLarge` after; at length `max` it ends regardless.
   */
  #findCut(data: Uint8Array, start: number): number {
    const gear = this.#gear;
    const offset = this.#pendingLength - start; // chunk offset of data[i] is i + offset
    const end = Math.min(data.length, this.#max - offset);
    let i = Math.max(start, this.#min - offset); // cut-point skipping: the first `min` bytes are not hashed
    let hash = this.#hash;
    const normalEnd = Math.min(end, this.#average - 1 - offset);
    const maskSmall = this.#maskSmall;
    for (; i < normalEnd; i++) {
      hash = ((hash << 1) + gear[data[i]!]!) | 0;
      if ((hash & maskSmall) === 0) return i + 1;
    }
    const maskLarge = this.#maskLarge;
    for (; i < end; i++) {
      hash = ((hash << 1) + gear[data[i]!]!) | 0;
      if ((hash & maskLarge) === 0) return i + 1;
    }
    this.#hash = hash;
    if (end + offset === this.#max) return end;
    return -1;
  }
}
