// The key text of src/format/key.ts (docs/FORMAT.md "Key text"): any case, spaces, dashes and
// newlines accepted; anything else a UsageError saying what is wrong; never printed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { UsageError } from '../../src/errors.ts';
import { BackupKey } from '../../src/format/key.ts';

const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 8 + 1);
const canonical = '0109 1119 2129 3139 4149 5159 6169 7179 8189 9199 a1a9 b1b9 c1c9 d1d9 e1e9 f1f9';

describe('BackupKey text', () => {
  it('formats as 16 groups of 4 lowercase hex digits', () => {
    assert.equal(new BackupKey(bytes).format(), canonical);
  });

  it('parses any case, spaces, dashes, tabs and newlines', () => {
    for (const text of [
      canonical,
      canonical.toUpperCase(),
      canonical.replaceAll(' ', ''),
      canonical.replaceAll(' ', '-'),
      `${canonical.replaceAll(' ', '\n')}\n`,
      ` \t${canonical.slice(0, 40)}\r\n${canonical.slice(40)} `,
    ]) {
      assert.deepEqual(BackupKey.parse(text).exposeBytes(), bytes);
    }
  });

  it('round-trips every key (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        assert.deepEqual(BackupKey.parse(new BackupKey(raw).format()).exposeBytes(), raw);
      }),
    );
  });

  it('says how many digits it found when the count is wrong', () => {
    assert.throws(() => BackupKey.parse(canonical.slice(0, -1)), {
      name: 'UsageError',
      message: '63 hex digits, expected 64',
    });
    assert.throws(() => BackupKey.parse(`${canonical}a`), { message: '65 hex digits, expected 64' });
    assert.throws(() => BackupKey.parse(''), { message: '0 hex digits, expected 64' });
  });

  it('names the first character that is not a hex digit and its position', () => {
    const text = `${canonical.slice(0, 11)}g${canonical.slice(12)}`;
    assert.throws(
      () => BackupKey.parse(text),
      (e) => e instanceof UsageError && e.message === "'g' at position 12 is not a hex digit",
    );
    assert.throws(() => BackupKey.parse(`${canonical.slice(0, 4)}_${canonical.slice(5)}`), {
      message: "'_' at position 5 is not a hex digit",
    });
    assert.throws(() => BackupKey.parse(`é${canonical}`), {
      message: 'U+00E9 at position 1 is not a hex digit',
    });
  });

  it('never shows the key when printed, logged or serialized', () => {
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    const hex = key.format().replaceAll(' ', '');
    for (const shown of [String(key), inspect(key), JSON.stringify({ key }), `${key}`]) {
      assert.ok(!shown.includes(hex.slice(0, 8)), shown);
      assert.match(shown, /redacted/);
    }
  });

  it('zeroes its bytes on destroy', () => {
    const key = new BackupKey(bytes);
    key.destroy();
    assert.deepEqual(key.exposeBytes(), new Uint8Array(32));
  });

  it('rejects keys of the wrong length', () => {
    assert.throws(() => new BackupKey(new Uint8Array(31)), UsageError);
  });
});
