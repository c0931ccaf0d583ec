// Hex and base64url codecs shared by the protocols and the repository (src/protocol/vault/bytes.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../../../src/protocol/vault/bytes.ts';

describe('hex', () => {
  it('writes lowercase hex, two digits a byte, and reads it back', () => {
    assert.equal(toHex(new Uint8Array([0x00, 0x0f, 0xa0, 0xff, 0x5c])), '000fa0ff5c');
    assert.equal(toHex(new Uint8Array(0)), '');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const hex = toHex(bytes);
        assert.equal(hex, Buffer.from(bytes).toString('hex'));
        assert.deepEqual(fromHex(hex), bytes);
      }),
    );
  });

  it('reads only lowercase hex of whole bytes', () => {
    assert.throws(() => fromHex('0A'), RangeError);
    assert.throws(() => fromHex('abc'), RangeError);
  });
});
