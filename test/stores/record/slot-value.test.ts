// The slot layout a key-value store keeps (src/stores/record/slot-value.ts): round trips, and every
// malformed value is refused rather than read as something else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnavailableError } from '../../../src/errors.ts';
import { decodeSlotValue, encodeSlotValue } from '../../../src/stores/record/slot-value.ts';

describe('slot value layout', () => {
  it('round-trips every combination of present, empty and absent parts', () => {
    const parts = [undefined, new Uint8Array(0), Uint8Array.of(1, 2, 3)];
    for (const committed of parts) {
      for (const intent of parts) {
        const slot = { ...(committed ? { committed } : {}), ...(intent ? { intent } : {}) };
        assert.deepEqual(decodeSlotValue(encodeSlotValue(slot)), slot);
      }
    }
  });

  it('writes the documented bytes', () => {
    const bytes = encodeSlotValue({ committed: Uint8Array.of(0xaa), intent: Uint8Array.of(0xbb, 0xcc) });
    assert.equal(Buffer.from(bytes).toString('hex'), '0103' + '00000001aa' + '00000002bbcc');
  });

  it('refuses unknown layouts, unknown flags, truncation and trailing bytes', () => {
    const good = encodeSlotValue({ committed: Uint8Array.of(1, 2), intent: Uint8Array.of(3) });
    const bad = [
      new Uint8Array(0),
      Uint8Array.of(1),
      Uint8Array.of(2, 0),
      Uint8Array.of(1, 4),
      good.subarray(0, good.length - 1),
      good.subarray(0, 5),
      Uint8Array.of(...good, 0),
    ];
    for (const bytes of bad) assert.throws(() => decodeSlotValue(bytes), UnavailableError);
  });
});
