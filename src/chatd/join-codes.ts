// Join codes (docs/CHATD.md "Join codes"): a short numeric code bound to the user
// id and to the device key that asked for it, stored only as an HMAC under a server pepper, valid
// for a few minutes and a few tries, compared in constant time.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { AccountStore } from './account-store.ts';

export interface JoinCodePolicy {
  /** Digits per code (default 8: one try in 10^8 per code). */
  readonly digits: number;
  /** Lifetime of a code (default 10 minutes). */
  readonly ttlMs: number;
  /** Wrong submissions before the code is destroyed (default 3). */
  readonly tries: number;
}

export const DEFAULT_JOIN_CODE_POLICY: JoinCodePolicy = { digits: 8, ttlMs: 10 * 60_000, tries: 3 };

/** What a submitted code turned out to be. */
export type CodeCheck =
  | { readonly outcome: 'right' }
  | { readonly outcome: 'wrong'; readonly triesLeft: number }
  | { readonly outcome: 'expired' };

export class JoinCodes {
  private constructor(
    private readonly store: AccountStore,
    private readonly pepper: Uint8Array,
    readonly policy: JoinCodePolicy,
    private readonly now: () => number,
  ) {}

  static async open(
    store: AccountStore,
    policy: JoinCodePolicy = DEFAULT_JOIN_CODE_POLICY,
    now: () => number = Date.now,
  ): Promise<JoinCodes> {
    // The pepper keeps a copy of the database from revealing codes by a lookup table; it lives in
    // the store itself (one for every ChatD sharing it), so it protects against a leaked table,
    // not a leaked store.
    const pepper = await store.metaValue('join-code-pepper', () => randomBytes(32));
    return new JoinCodes(store, pepper, policy, now);
  }

  private hash(userId: string, publicKey: Uint8Array, code: string): Uint8Array {
    return createHmac('sha256', this.pepper)
      .update(`strongroom/v1/join-code\0${userId}\0`)
      .update(publicKey)
      .update(code)
      .digest();
  }

  /** Draws a fresh code for (userId, device key), replacing any earlier one, and returns it. */
  async issue(userId: string, publicKey: Uint8Array): Promise<string> {
    const code = randomInt(0, 10 ** this.policy.digits)
      .toString()
      .padStart(this.policy.digits, '0');
    await this.store.putJoinCode(userId, publicKey, {
      codeHash: this.hash(userId, publicKey, code),
      expiresAtMs: this.now() + this.policy.ttlMs,
      triesLeft: this.policy.tries,
    });
    return code;
  }

  /**
   * Checks a submitted code; a right code is consumed, a wrong one costs a try. One atomic step of
   * the store, so submissions through two ChatDs at once cannot both spend the same try.
   */
  check(userId: string, publicKey: Uint8Array, code: string): Promise<CodeCheck> {
    const submitted = this.hash(userId, publicKey, code);
    return this.store.updateJoinCode<CodeCheck>(userId, publicKey, (row) => {
      if (row === undefined) return { next: undefined, result: { outcome: 'expired' } };
      if (row.expiresAtMs <= this.now() || row.triesLeft <= 0)
        return { next: undefined, result: { outcome: 'expired' } };
      if (submitted.length === row.codeHash.length && timingSafeEqual(submitted, row.codeHash))
        return { next: undefined, result: { outcome: 'right' } };
      const triesLeft = row.triesLeft - 1;
      return {
        next: triesLeft <= 0 ? undefined : { ...row, triesLeft },
        result: { outcome: 'wrong', triesLeft },
      };
    });
  }
}
