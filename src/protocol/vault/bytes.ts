// Byte-level codec shared by every vault message (docs/PROTOCOL.md "Encoding"): big-endian
// integers, fixed-width fields, u8/u16/u32 length-prefixed fields. Decoding uses the Reader and
// MalformedFrameError shared with ChatD (../bytes.ts), re-exported here for the vault codecs.
import { MalformedFrameError } from '../bytes.ts';

export { MalformedFrameError, Reader } from '../bytes.ts';

const encoder = new TextEncoder();

/** ASCII/UTF-8 bytes of a domain-separation label (docs/PROTOCOL.md "Labels"). */
export function label(text: string): Uint8Array {
  return encoder.encode(text);
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function u8(value: number): Uint8Array {
  return Uint8Array.of(value);
}

export function u16(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value);
  return out;
}

export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

/** Length-prefixed field; throws when the value does not fit its prefix. */
export function prefixed(width: 1 | 2 | 4, bytes: Uint8Array): Uint8Array {
  const max = width === 1 ? 0xff : width === 2 ? 0xffff : 0xffffffff;
  if (bytes.length > max)
    throw new RangeError(`field of ${bytes.length} bytes exceeds its u${width * 8} length`);
  const head = width === 1 ? u8(bytes.length) : width === 2 ? u16(bytes.length) : u32(bytes.length);
  return concat(head, bytes);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');
// Hex digits are ASCII, which latin1 decodes to the same characters.
const asciiDecoder = new TextDecoder('latin1');

/**
 * Lowercase hex. The digits are written into bytes and decoded once, so the string is one flat
 * string: appending two characters at a time made a rope of as many pieces, which a backup of many
 * small files (one blob id per file, kept for the run's index) held by the hundred thousand.
 */
export function toHex(bytes: Uint8Array): string {
  const digits = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    digits[2 * i] = HEX_DIGITS[bytes[i]! >> 4]!;
    digits[2 * i + 1] = HEX_DIGITS[bytes[i]! & 15]!;
  }
  return asciiDecoder.decode(digits);
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new RangeError('not lowercase hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Checks a fixed-size field in a constructor; the error names the message and field. */
export function checkSize(what: string, bytes: Uint8Array, length: number): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new MalformedFrameError(`${what} must be ${length} bytes`);
  }
  return bytes;
}

export function checkRange(what: string, bytes: Uint8Array, min: number, max: number): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length < min || bytes.length > max) {
    throw new MalformedFrameError(`${what} must be ${min}..${max} bytes`);
  }
  return bytes;
}

export function checkInt(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new MalformedFrameError(`${what} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export const U64_MAX = 0xffffffffffffffffn;

export function checkU64(what: string, value: bigint): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new MalformedFrameError(`${what} must be a uint64`);
  }
  return value;
}

/** base64url without padding (the string form @serenity-kit/opaque uses for every value). */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
