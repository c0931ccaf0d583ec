// Round trip and malformed input for every vault message (docs/PROTOCOL.md "Encoding"): decoding
// then encoding gives the same bytes; every truncation, any trailing byte, and random bytes fail
// with MalformedFrameError (property-based, fast-check).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MalformedFrameError } from '../../../src/protocol/vault/bytes.ts';
import { samples, testSerialize } from './samples.ts';

const noDecode = new Set(['StatusRequest']); // an empty body: only trailing bytes can be wrong

for (const [name, bytes, decode] of samples) {
  test(`${name}: round trip`, () => testSerialize(decode, bytes));

  test(`${name}: every truncation and any trailing byte fail clearly`, () => {
    for (let length = 0; length < bytes.length; length++) {
      // Frames that end in a "rest" field (ciphertexts, nested messages) may decode shorter
      // prefixes; those must still never re-encode to the original bytes.
      try {
        const decoded = decode(bytes.subarray(0, length));
        const again = decoded instanceof Uint8Array ? decoded : decoded.serialize();
        assert.notDeepEqual(again, bytes);
      } catch (error) {
        assert.ok(error instanceof MalformedFrameError, `${name} truncated to ${length}: ${String(error)}`);
      }
    }
    const longer = Uint8Array.from([...bytes, 0]);
    try {
      const decoded = decode(longer);
      const again = decoded instanceof Uint8Array ? decoded : decoded.serialize();
      assert.deepEqual(again, longer, 'an extra byte is either refused or part of a trailing field');
    } catch (error) {
      assert.ok(error instanceof MalformedFrameError, `${name} with a trailing byte: ${String(error)}`);
    }
  });

  if (!noDecode.has(name)) {
    test(`${name}: random bytes and random corruptions fail with MalformedFrameError or decode canonically`, () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: bytes.length + 8 }),
            fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
              const copy = Uint8Array.from(bytes);
              copy[at] = (copy[at] as number) ^ x;
              return copy;
            }),
          ),
          (input) => {
            try {
              const decoded = decode(input);
              const again = decoded instanceof Uint8Array ? decoded : decoded.serialize();
              assert.deepEqual(again, input, 'whatever decodes re-encodes to the same bytes');
            } catch (error) {
              assert.ok(error instanceof MalformedFrameError, String(error));
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  }
}
