// Names as a person reads and types them (docs/BACKUP.md "Names that are not UTF-8"): the exact
// bytes of a name or path turned into a printable escaped form in the manner of GNU `ls -b`, and
// that form parsed back into the same bytes, so a name that is not UTF-8 can be seen, told apart
// from its look-alikes and typed back (`backup restore --path`). Browser-safe.
import { UsageError } from '../../errors.ts';

const encoder = new TextEncoder();

/** The C escapes `ls -b` prints for these control bytes (and that parsing accepts). */
const C_ESCAPES = new Map<number, string>([
  [0x07, 'a'],
  [0x08, 'b'],
  [0x09, 't'],
  [0x0a, 'n'],
  [0x0b, 'v'],
  [0x0c, 'f'],
  [0x0d, 'r'],
]);
/** Parsing also takes `\e` (ESC), as bash's $'…' does. */
const C_UNESCAPES = new Map<string, number>([
  ...[...C_ESCAPES].map(([byte, letter]) => [letter, byte] as const),
  ['e', 0x1b],
]);

/**
 * Characters printed as the octal escapes of their bytes although they are valid UTF-8: controls
 * (C0, DEL, C1), format characters (bidirectional overrides, zero-width spaces, the byte order
 * mark, the soft hyphen), line and paragraph separators, and code points not assigned in this
 * Unicode version. Each is invisible or rearranges the text around it, so printed as itself a name
 * could not be told from another or read back as it is; `ls -b` leaves format characters to the
 * terminal, which is why this list is longer than its. The zero-width joiner and non-joiner are
 * the exception: they shape the visible letters or emoji on either side (Persian and Indic words,
 * 👨‍👩‍👧), and escaping them would garble ordinary names.
 */
const NOT_PRINTED = /^(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cn}]$/u;

/** ASCII punctuation and space: `\` before one of them stands for the character itself. */
const PUNCTUATION = /^[ -/:-@[-`{-~]$/;

/**
 * The length of the valid UTF-8 sequence (RFC 3629 §4: shortest form, no surrogates, at most
 * U+10FFFF) that starts at `bytes[i]`, or 0 when none does.
 */
function sequenceAt(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!;
  if (lead < 0x80) return 1;
  const inRange = (offset: number, low = 0x80, high = 0xbf) => {
    const byte = bytes[i + offset];
    return byte !== undefined && byte >= low && byte <= high;
  };
  if (lead >= 0xc2 && lead <= 0xdf) return inRange(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    const second = lead === 0xe0 ? inRange(1, 0xa0) : lead === 0xed ? inRange(1, 0x80, 0x9f) : inRange(1);
    return second && inRange(2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    const second = lead === 0xf0 ? inRange(1, 0x90) : lead === 0xf4 ? inRange(1, 0x80, 0x8f) : inRange(1);
    return second && inRange(2) && inRange(3) ? 4 : 0;
  }
  return 0;
}

/** The code point of the valid sequence of `length` bytes at `bytes[i]`. */
function codePointAt(bytes: Uint8Array, i: number, length: number): number {
  const lead = bytes[i]!;
  if (length === 1) return lead;
  let point = lead & (0xff >> (length + 1));
  for (let k = 1; k < length; k++) point = (point << 6) | (bytes[i + k]! & 0x3f);
  return point;
}

const octal = (byte: number) => `\\${byte.toString(8).padStart(3, '0')}`;

/**
 * The printable escaped form of a name's (or a '/'-separated path's) exact bytes: printable UTF-8
 * as it is, `\\` for a backslash, `\t` `\n` and the other C escapes for their control bytes, and
 * `\ooo` (three octal digits) for every other byte of a control or invisible character and for
 * every byte that is not part of valid UTF-8. `parseEscapedName` gives the bytes back.
 */
export function escapeName(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceAt(bytes, i);
    if (length === 0) {
      out += octal(bytes[i]!);
      i++;
      continue;
    }
    const char = String.fromCodePoint(codePointAt(bytes, i, length));
    const letter = C_ESCAPES.get(bytes[i]!);
    if (char === '\\') out += '\\\\';
    else if (letter !== undefined) out += `\\${letter}`;
    else if (NOT_PRINTED.test(char)) for (let k = 0; k < length; k++) out += octal(bytes[i + k]!);
    else out += char;
    i += length;
  }
  return out;
}

/**
 * The bytes an escaped name stands for: what `escapeName` prints, a name pasted from `ls -b`, or a
 * shell-style escape. Text stands for its UTF-8 bytes; `\ooo` (one to three octal digits, at most
 * 377) and `\xHH` (one or two hex digits) for one byte; `\a \b \t \n \v \f \r \e` for their control
 * bytes; `\` before ASCII punctuation or a space for that character (`\\`, `\ `, `\'`). Any other
 * `\` is a UsageError that says where, under the name `what` (e.g. `--path`).
 */
export function parseEscapedName(text: string, what: string): Uint8Array {
  const out: number[] = [];
  let i = 0;
  const refuse = (sequence: string, why: string) =>
    new UsageError(`${what}: '${sequence}' at character ${i + 1} ${why}`, {
      hints: ['a byte is \\ooo (octal) or \\xHH (hex), a backslash \\\\; names print in this form'],
    });
  while (i < text.length) {
    const backslash = text.indexOf('\\', i);
    const end = backslash < 0 ? text.length : backslash;
    if (end > i) {
      out.push(...encoder.encode(text.slice(i, end)));
      i = end;
      continue;
    }
    const next = text.codePointAt(i + 1);
    if (next === undefined) throw refuse('\\', 'ends the text: a backslash is \\\\');
    const char = String.fromCodePoint(next);
    const octalDigits = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
    const hexDigits = char === 'x' ? /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 2, i + 4)) : null;
    if (octalDigits !== null) {
      const value = Number.parseInt(octalDigits[0], 8);
      if (value > 0xff) throw refuse(`\\${octalDigits[0]}`, 'is more than a byte (at most \\377)');
      out.push(value);
      i += 1 + octalDigits[0].length;
    } else if (char === 'x') {
      if (hexDigits === null) throw refuse('\\x', 'has no hex digit after it');
      out.push(Number.parseInt(hexDigits[0], 16));
      i += 2 + hexDigits[0].length;
    } else if (C_UNESCAPES.has(char)) {
      out.push(C_UNESCAPES.get(char)!);
      i += 2;
    } else if (PUNCTUATION.test(char)) {
      out.push(next);
      i += 2;
    } else {
      const shown = NOT_PRINTED.test(char) ? escapeName(encoder.encode(char)) : char;
      throw refuse(`\\${shown}`, 'is not an escape');
    }
  }
  return Uint8Array.from(out);
}

/**
 * A path inside a snapshot as the exact bytes of each of its names: split at each '/' byte, empty
 * names (a leading, doubled or trailing '/') dropped. A UsageError under the name `what` if nothing
 * is left or a name is '.' or '..' or holds NUL, which no snapshot name can be (docs/FORMAT.md
 * §12.7 "A reader MUST refuse").
 */
export function splitSnapshotPath(path: Uint8Array, what: string): Uint8Array[] {
  const names: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i < path.length && path[i] !== 0x2f) continue;
    if (i > start) names.push(path.subarray(start, i));
    start = i + 1;
  }
  const shown = `'${escapeName(path)}'`;
  if (names.length === 0)
    throw new UsageError(`${what} ${shown} names nothing: give a path such as chat/media`);
  for (const name of names) {
    const dots = name.every((byte) => byte === 0x2e) && name.length <= 2;
    if (dots) throw new UsageError(`${what} ${shown}: a path in a snapshot has no '.' or '..' in it`);
    if (name.includes(0)) throw new UsageError(`${what} ${shown}: a name in a snapshot holds no NUL byte`);
  }
  return names;
}

/** The escaped form of the '/'-separated path made of `names` (exact bytes each). */
export function escapePath(names: readonly Uint8Array[]): string {
  return names.map((name) => escapeName(name)).join('/');
}
