// The backup key K and its text form (docs/FORMAT.md §1 "Terminology", manual mode; §2 "Key text").
import { UsageError } from '../errors.ts';

export const KEY_LENGTH = 32;
const HEX_DIGITS = KEY_LENGTH * 2;

/**
 * K: 32 random bytes made on the device, from which every other key is derived. Prints as
 * "(redacted)" so it cannot leak through logs; `destroy()` ends the secret's life in memory.
 */
export class BackupKey {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== KEY_LENGTH) {
      throw new UsageError(`a backup key is ${KEY_LENGTH} bytes, got ${bytes.length}`);
    }
    this.#bytes = Uint8Array.from(bytes);
  }

  /** A fresh key from `randomBytes` (a CSPRNG; a parameter so tests can be deterministic). */
  static generate(randomBytes: (length: number) => Uint8Array): BackupKey {
    const fresh = randomBytes(KEY_LENGTH);
    const key = new BackupKey(fresh);
    fresh.fill(0);
    return key;
  }

  /**
   * Parses the text form: 64 hex digits in any case; spaces, tabs, dashes and newlines anywhere are
   * ignored. Anything else is a UsageError naming the first offending character and its position
   * (1-based, counted in the text as given) — the text itself is never echoed.
   */
  static parse(text: string): BackupKey {
    const digits: number[] = [];
    let position = 0;
    for (const char of text) {
      position++;
      if (char === ' ' || char === '-' || char === '\n' || char === '\r' || char === '\t') continue;
      if (!/^[0-9a-fA-F]$/.test(char)) {
        const shown = /^[\x21-\x7e]$/.test(char)
          ? `'${char}'`
          : `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
        throw new UsageError(`${shown} at position ${position} is not a hex digit`, {
          hints: ['a backup key is 64 hex digits (0-9, a-f); spaces, dashes and line breaks are ignored'],
        });
      }
      digits.push(Number.parseInt(char, 16));
    }
    if (digits.length !== HEX_DIGITS) {
      throw new UsageError(
        `${digits.length} hex digit${digits.length === 1 ? '' : 's'}, expected ${HEX_DIGITS}`,
        {
          hints: ['check that the whole key was copied; `strongroom keygen` makes a new one'],
        },
      );
    }
    const bytes = new Uint8Array(KEY_LENGTH);
    for (let i = 0; i < KEY_LENGTH; i++) bytes[i] = (digits[2 * i]! << 4) | digits[2 * i + 1]!;
    digits.fill(0);
    const key = new BackupKey(bytes);
    bytes.fill(0);
    return key;
  }

  /** The key's raw bytes. The caller must not keep them longer than it needs them. */
  exposeBytes(): Uint8Array {
    return this.#bytes;
  }

  /** The text form shown to a person: 16 groups of 4 lowercase hex digits separated by single spaces. */
  format(): string {
    const hex = Array.from(this.#bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return hex.match(/.{4}/g)!.join(' ');
  }

  /** Zeroes the key in memory; the object must not be used afterwards. */
  destroy(): void {
    this.#bytes.fill(0);
  }

  toString(): string {
    return 'BackupKey(redacted)';
  }

  toJSON(): string {
    return '(redacted)';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'BackupKey(redacted)';
  }
}
