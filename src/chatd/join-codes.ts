// Join codes (docs/CHATD.md "Join codes"): a short numeric code bound to the user
// id and to the device key that asked for it, stored only as an HMAC under a server pepper, valid
// for a few minutes and a few tries, compared in constant time.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { ChatdDatabase } from './database.ts';

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
  private readonly pepper: Uint8Array;

  constructor(
    private readonly db: ChatdDatabase,
    readonly policy: JoinCodePolicy = DEFAULT_JOIN_CODE_POLICY,
    private readonly now: () => number = Date.now,
  ) {
    // The pepper keeps a copy of the database from revealing codes by a lookup table; it lives in
    // the database itself, so it protects against a leaked table, not a leaked file.
    this.pepper = db.metaValue('join-code-pepper', () => randomBytes(32));
  }

  private hash(userId: string, publicKey: Uint8Array, code: string): Uint8Array {
    return createHmac('sha256', this.pepper)
      .update(`strongroom/v1/join-code\0${userId}\0`)
      .update(publicKey)
      .update(code)
      .digest();
  }

  /** Draws a fresh code for (userId, device key), replacing any earlier one, and returns it. */
  issue(userId: string, publicKey: Uint8Array): string {
    const code = randomInt(0, 10 ** this.policy.digits)
      .toString()
      .padStart(this.policy.digits, '0');
    this.db.putJoinCode(userId, publicKey, {
      codeHash: this.hash(userId, publicKey, code),
      expiresAtMs: this.now() + this.policy.ttlMs,
      triesLeft: this.policy.tries,
    });
    return code;
  }

  /** Checks a submitted code; a right code is consumed, a wrong one costs a try. */
  check(userId: string, publicKey: Uint8Array, code: string): CodeCheck {
    const row = this.db.joinCode(userId, publicKey);
    if (row === undefined) return { outcome: 'expired' };
    if (row.expiresAtMs <= this.now() || row.triesLeft <= 0) {
      this.db.deleteJoinCode(userId, publicKey);
      return { outcome: 'expired' };
    }
    const submitted = this.hash(userId, publicKey, code);
    if (submitted.length === row.codeHash.length && timingSafeEqual(submitted, row.codeHash)) {
      this.db.deleteJoinCode(userId, publicKey);
      return { outcome: 'right' };
    }
    const triesLeft = row.triesLeft - 1;
    if (triesLeft <= 0) this.db.deleteJoinCode(userId, publicKey);
    else this.db.setJoinCodeTries(userId, publicKey, triesLeft);
    return { outcome: 'wrong', triesLeft };
  }
}
