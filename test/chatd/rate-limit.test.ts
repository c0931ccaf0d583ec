// Token buckets (src/chatd/rate-limit.ts; docs/CHATD.md "Rate limits") on an injected clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from '../../src/chatd/rate-limit.ts';

describe('token bucket', () => {
  it('allows the burst, then refuses with the wait until the next token, then refills', () => {
    let now = 0;
    const limiter = new RateLimiter({ capacity: 3, perSecond: 0.5 }, () => now);
    assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0]);
    assert.equal(limiter.take('a'), 2000);
    assert.equal(limiter.take('b'), 0, 'keys have their own buckets');
    now += 1000;
    assert.equal(limiter.take('a'), 1000);
    now += 1000;
    assert.equal(limiter.take('a'), 0);
    now += 60_000;
    assert.deepEqual(
      [limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')],
      [0, 0, 0, 2000],
    );
  });

  it('refuses a nonsensical spec', () => {
    assert.throws(() => new RateLimiter({ capacity: 0, perSecond: 1 }), RangeError);
    assert.throws(() => new RateLimiter({ capacity: 1, perSecond: 0 }), RangeError);
  });
});
