// Random bytes from node:crypto drawn a block at a time (docs/ARCHITECTURE.md "Small files and the
// walk"): one randomFillSync call costs some 6 µs whatever its length up to a few KiB, and a backup
// of many small files draws a 12-byte nonce for every blob, 1.3 s of a 200,000-file run's 19 s.
// Outside the formats' code: FormatCrypto.randomBytes gives the same CSPRNG's bytes either way. A
// draw is copied out of the block and its bytes in the block zeroed, so the block holds only
// bytes nobody has been given.
import { randomFillSync } from 'node:crypto';

const BLOCK_BYTES = 4096;
/** Draws longer than this are filled directly: they are rare (keys, padding) and the pool saves them nothing. */
const POOLED_MAX = 256;

const block = new Uint8Array(BLOCK_BYTES);
let used = BLOCK_BYTES;

/** `length` fresh random bytes, in a buffer of the caller's own. */
export function randomBytesPooled(length: number): Uint8Array {
  if (length > POOLED_MAX) return randomFillSync(new Uint8Array(length));
  if (used + length > BLOCK_BYTES) {
    randomFillSync(block);
    used = 0;
  }
  const out = block.slice(used, used + length);
  block.fill(0, used, used + length);
  used += length;
  return out;
}
