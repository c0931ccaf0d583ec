// Token-bucket rate limits for ChatD (docs/CHATD.md "Rate limits": vault traffic
// is limited per account and per address). Each key (an account, an address, a user id) has a
// bucket of `capacity` tokens refilled at `perSecond`; a request takes one token or is refused
// with the time until one is available.

export interface BucketSpec {
  /** Burst size: requests allowed at once after a quiet period. */
  readonly capacity: number;
  /** Sustained rate: tokens added per second. */
  readonly perSecond: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Most keys a limiter remembers; full buckets are dropped first, so the map cannot grow without bound. */
const MAX_KEYS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly spec: BucketSpec,
    private readonly now: () => number = Date.now,
  ) {
    if (!(spec.capacity >= 1) || !(spec.perSecond > 0)) {
      throw new RangeError('rate limit: capacity must be >= 1 and perSecond > 0');
    }
  }

  /** Takes one token for `key`; returns 0 when allowed, else the milliseconds until a token is due. */
  take(key: string): number {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_KEYS) this.forgetFull(now);
      bucket = { tokens: this.spec.capacity, updatedMs: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(
      this.spec.capacity,
      bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.spec.perSecond,
    );
    bucket.updatedMs = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.spec.perSecond) * 1000);
  }

  /** Drops buckets that have refilled (they behave exactly like absent ones). */
  private forgetFull(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.updatedMs) / 1000) * this.spec.perSecond >= this.spec.capacity)
        this.buckets.delete(key);
    }
  }
}
