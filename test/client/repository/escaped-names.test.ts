// Names as a person reads and types them (src/client/repository/escaped-names.ts; docs/BACKUP.md
// "Names that are not UTF-8"): examples of what prints escaped and what does not, every escape the
// parser takes and the ones it refuses, the round trip bytes -> escaped -> bytes for any bytes
// (property-based, fast-check), and names printed by the real `ls -b` parsed back to their bytes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  escapeName,
  escapePath,
  parseEscapedName,
  splitSnapshotPath,
} from '../../../src/client/repository/escaped-names.ts';
import { UsageError } from '../../../src/errors.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);
const utf8 = (text: string) => new TextEncoder().encode(text);
const parse = (text: string) => parseEscapedName(text, '--path');

/** Asserts that `run` throws a UsageError whose message matches `message`. */
function throwsUsage(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

/** Any bytes, weighted towards what is interesting here: UTF-8 text, broken sequences, controls, backslashes. */
const nameBytes = fc
  .array(
    fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 4 }),
      fc.string({ unit: 'binary', maxLength: 6 }).map(utf8),
      fc.constantFrom(
        bytes(0x5c),
        bytes(0x09),
        bytes(0x1b),
        bytes(0x7f),
        bytes(0xe9),
        bytes(0xc3),
        bytes(0xe2, 0x80),
        bytes(0xe2, 0x80, 0xae),
        bytes(0xef, 0xbb, 0xbf),
        bytes(0xed, 0xa0, 0x80),
        bytes(0xf4, 0x90, 0x80, 0x80),
        bytes(0x33, 0x35, 0x31),
      ),
    ),
    { maxLength: 8 },
  )
  .map((parts) => Uint8Array.from(parts.flatMap((part) => [...part])));

describe('escapeName', () => {
  it('prints printable UTF-8 as it is, so ordinary names look normal', () => {
    for (const name of [
      'messages.db',
      'café',
      'Photo 2024-05-01.jpg',
      '日本語.txt',
      '👨‍👩‍👧',
      "it's",
      'a/b',
    ]) {
      assert.equal(escapeName(utf8(name)), name);
    }
  });

  it('prints bytes that are not UTF-8, controls and invisible characters as \\ooo, as ls -b does', () => {
    const cases: [Uint8Array, string][] = [
      [bytes(0x63, 0x61, 0x66, 0xe9), 'caf\\351'], // "café" in Latin-1
      [bytes(0x63, 0x61, 0x66, 0xe8), 'caf\\350'],
      [utf8('back\\slash'), 'back\\\\slash'],
      [utf8('a\tb\nc\rd'), 'a\\tb\\nc\\rd'],
      [utf8('\x07\x08\x0b\x0c'), '\\a\\b\\v\\f'],
      [utf8('esc\x1b[31m'), 'esc\\033[31m'],
      [utf8('nul\x00del\x7f'), 'nul\\000del\\177'],
      [utf8('c1\u0085'), 'c1\\302\\205'], // a C1 control
      [utf8('bidi\u202eX'), 'bidi\\342\\200\\256X'], // right-to-left override
      [utf8('zero\u200bwidth'), 'zero\\342\\200\\213width'],
      [utf8('\ufeffbom'), '\\357\\273\\277bom'], // a leading byte order mark is kept, escaped
      [utf8('line\u2028sep'), 'line\\342\\200\\250sep'],
      [bytes(0xc0, 0x80), '\\300\\200'], // overlong NUL
      [bytes(0xed, 0xa0, 0x80), '\\355\\240\\200'], // a surrogate
      [bytes(0xf4, 0x90, 0x80, 0x80), '\\364\\220\\200\\200'], // above U+10FFFF
      [bytes(0xe2, 0x82), '\\342\\202'], // a sequence cut short
      [bytes(0xe9, 0x33, 0x35, 0x31), '\\351351'], // three digits always: the digits after stay text
    ];
    for (const [name, shown] of cases) {
      assert.equal(escapeName(name), shown, `${Buffer.from(name).toString('hex')}`);
      assert.deepEqual(parse(shown), name, shown);
    }
  });

  it('joins a path of exact names with /', () => {
    assert.equal(escapePath([utf8('chat'), bytes(0x63, 0x61, 0x66, 0xe9)]), 'chat/caf\\351');
  });
});

describe('parseEscapedName', () => {
  it('takes \\ooo, \\xHH, \\\\, C escapes and \\ before punctuation or a space', () => {
    const cases: [string, Uint8Array][] = [
      ['caf\\351', bytes(0x63, 0x61, 0x66, 0xe9)],
      ['caf\\xe9', bytes(0x63, 0x61, 0x66, 0xe9)],
      ['caf\\xE9', bytes(0x63, 0x61, 0x66, 0xe9)],
      ['\\x9z', bytes(0x09, 0x7a)], // one hex digit, as bash's $'\x9'
      ['\\0', bytes(0)],
      ['\\12', bytes(0x0a)],
      ['\\\\', bytes(0x5c)],
      ['a\\tb\\n\\e', utf8('a\tb\n\x1b')],
      ['sp\\ ace', utf8('sp ace')], // as ls -b prints a space
      ['it\\\'s \\"q\\" \\$HOME \\*', utf8('it\'s "q" $HOME *')],
      ['chat\\/media', utf8('chat/media')],
      ['日本\\342\\200\\213語', utf8('日本\u200b語')],
    ];
    for (const [text, name] of cases) assert.deepEqual(parse(text), name, text);
  });

  it('refuses an escape it does not know, saying which and where', () => {
    throwsUsage(() => parse('caf\\q'), /^--path: '\\q' at character 4 is not an escape$/);
    throwsUsage(() => parse('caf\\8'), /'\\8' at character 4 is not an escape/);
    throwsUsage(() => parse('é\\é'), /'\\é' at character 2 is not an escape/);
    throwsUsage(() => parse('a\\\x01'), /'\\\\001' at character 2 is not an escape/);
    throwsUsage(() => parse('caf\\'), /'\\' at character 4 ends the text/);
    throwsUsage(() => parse('\\400'), /'\\400' at character 1 is more than a byte/);
    throwsUsage(() => parse('\\xg'), /'\\x' at character 1 has no hex digit/);
  });

  it('gives back the bytes of any name escapeName printed, which is printable (property)', () => {
    const invisible = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cn}]/u;
    fc.assert(
      fc.property(nameBytes, (name) => {
        const shown = escapeName(name);
        assert.deepEqual(parse(shown), name, shown);
        assert.doesNotMatch(shown, invisible);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves printable text without backslashes as it is (property)', () => {
    const invisible = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cn}]|\\/u;
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }).filter((text) => !invisible.test(text)),
        (text) => {
          assert.equal(escapeName(utf8(text)), text);
          assert.deepEqual(parse(text), utf8(text));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('reads names as the real ls -b prints them, in a UTF-8 locale and in C', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-escaped-names-'));
    try {
      const names = new Map<string, Uint8Array>();
      const add = (name: Uint8Array) => {
        const ok =
          name.length > 0 &&
          !name.includes(0) &&
          !name.includes(0x2f) &&
          !/^\.\.?$/.test(String.fromCharCode(...name));
        if (ok) names.set(Buffer.from(name).toString('hex'), name);
      };
      for (const name of [
        bytes(0x63, 0x61, 0x66, 0xe9),
        utf8('a b\tc\nd\\e'),
        utf8('bidi\u202eX'),
        utf8('日本'),
      ])
        add(name);
      for (const name of fc.sample(nameBytes, { numRuns: 200, seed: 7 })) add(name.subarray(0, 200));
      for (const name of names.values()) writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), '');
      for (const locale of ['C.UTF-8', 'C']) {
        const listed = execFileSync('ls', ['-b', '-A', '-1', dir], {
          env: { ...process.env, LC_ALL: locale },
        });
        const lines = listed.toString('utf8').split('\n').slice(0, -1);
        const read = new Map(lines.map((line) => [Buffer.from(parse(line)).toString('hex'), line]));
        assert.deepEqual([...read.keys()].sort(), [...names.keys()].sort(), locale);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('splitSnapshotPath', () => {
  it('splits at each / byte and drops empty names', () => {
    assert.deepEqual(splitSnapshotPath(parse('/chat//caf\\351/'), '--path'), [
      utf8('chat'),
      bytes(0x63, 0x61, 0x66, 0xe9),
    ]);
  });

  it("refuses a path that names nothing, or holds '.', '..' or NUL, which no snapshot name can be", () => {
    throwsUsage(() => splitSnapshotPath(parse('//'), '--path'), /^--path '\/\/' names nothing/);
    throwsUsage(() => splitSnapshotPath(parse('chat/../etc'), '--path'), /no '\.' or '\.\.'/);
    throwsUsage(() => splitSnapshotPath(parse('./chat'), '--path'), /no '\.' or '\.\.'/);
    throwsUsage(() => splitSnapshotPath(parse('chat/a\\0b'), '--path'), /^--path 'chat\/a\\000b': .*NUL/);
    assert.deepEqual(splitSnapshotPath(utf8('.../..a'), '--path'), [utf8('...'), utf8('..a')]);
  });
});
