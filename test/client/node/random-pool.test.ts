// Random bytes drawn a block at a time (src/client/node/random-pool.ts): every draw has the length
// asked for, is the caller's own (later draws neither change nor repeat it), and draws across a
// block's end or longer than a pooled one are as fresh as the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytesPooled } from '../../../src/client/node/random-pool.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('pooled random bytes', () => {
  it('gives each draw its own fresh bytes, across many blocks', () => {
    const seen = new Set<string>();
    const kept: { bytes: Uint8Array; copy: string }[] = [];
    // 12-byte nonces past several 4 KiB blocks, mixed with other lengths (a key, a pooled maximum,
    // one past it) so that draws straddle a block's end.
    for (let i = 0; i < 3000; i++) {
      const length = [12, 12, 32, 256, 257, 1][i % 6]!;
      const bytes = randomBytesPooled(length);
      assert.equal(bytes.length, length);
      assert.equal(bytes.byteOffset, 0, 'a buffer of its own, not a view into the block');
      assert.equal(bytes.buffer.byteLength, length);
      if (length >= 12) {
        assert.ok(!seen.has(hex(bytes)), `draw ${i} repeated an earlier one`);
        seen.add(hex(bytes));
        kept.push({ bytes, copy: hex(bytes) });
      }
    }
    // The block is refilled and its handed-out bytes zeroed: none of that may reach a draw given out.
    for (const { bytes, copy } of kept) assert.equal(hex(bytes), copy);
    assert.ok(kept.every(({ bytes }) => bytes.some((b) => b !== 0)));
  });

  it('draws nothing for a length of 0', () => {
    assert.equal(randomBytesPooled(0).length, 0);
  });
});
