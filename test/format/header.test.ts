// The header codec of src/format/header.ts (docs/FORMAT.md "Header"): layout, canonical encoding,
// size checks, and the order of checks in `open` (key check before MAC).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { DamagedBackupError, WrongKeyError } from '../../src/errors.ts';
import { HEADER_LENGTH, Header, MAGIC } from '../../src/format/header.ts';
import { BackupKey } from '../../src/format/key.ts';
import { webCrypto } from '../../src/format/webcrypto.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);

describe('Header', () => {
  it('lays out magic, version, chunk size, salt, key check and MAC in 93 bytes', async () => {
    const salt = nodeCrypto.randomBytes(32);
    const { header } = await Header.create(nodeCrypto, key, 65536, salt);
    const bytes = header.serialize();
    assert.equal(bytes.length, HEADER_LENGTH);
    assert.equal(HEADER_LENGTH, 93);
    assert.deepEqual(bytes.subarray(0, 8), MAGIC);
    assert.equal(bytes[8], 1);
    assert.deepEqual([...bytes.subarray(9, 13)], [0, 1, 0, 0]);
    assert.deepEqual(bytes.subarray(13, 45), salt);
    assert.deepEqual(bytes.subarray(45, 61), header.keyCheck);
    assert.deepEqual(bytes.subarray(61), header.mac);
  });

  it('re-encodes any parsed header to the same bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 10, max: 24 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        async (log, salt) => {
          const { header } = await Header.create(nodeCrypto, key, 2 ** log, salt);
          const bytes = header.serialize();
          assert.deepEqual(Header.deserialize(bytes).serialize(), bytes);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('derives the same header with node:crypto and WebCrypto', async () => {
    const salt = nodeCrypto.randomBytes(32);
    const a = (await Header.create(nodeCrypto, key, 1024, salt)).header.serialize();
    const b = (await Header.create(webCrypto, key, 1024, salt)).header.serialize();
    assert.deepEqual(a, b);
  });

  it('rejects bad sizes in the constructor', () => {
    const ok = { salt: new Uint8Array(32), check: new Uint8Array(16), mac: new Uint8Array(32) };
    assert.throws(() => new Header(1000, ok.salt, ok.check, ok.mac), RangeError);
    assert.throws(() => new Header(2 ** 25, ok.salt, ok.check, ok.mac), RangeError);
    assert.throws(() => new Header(1024, new Uint8Array(31), ok.check, ok.mac), RangeError);
    assert.throws(() => new Header(1024, ok.salt, new Uint8Array(15), ok.mac), RangeError);
    assert.throws(() => new Header(1024, ok.salt, ok.check, new Uint8Array(33)), RangeError);
  });

  it('refuses short input, a wrong magic and an unknown version as damaged', async () => {
    const bytes = (await Header.create(nodeCrypto, key, 1024)).header.serialize();
    assert.throws(() => Header.deserialize(bytes.subarray(0, 92)), DamagedBackupError);
    assert.throws(
      () => Header.deserialize(Uint8Array.of(0, ...bytes.subarray(1))),
      /not a Strongroom backup/,
    );
    const v2 = Uint8Array.from(bytes);
    v2[8] = 2;
    assert.throws(
      () => Header.deserialize(v2),
      (e) => e instanceof DamagedBackupError && /version 2/.test(e.message),
    );
  });

  it('checks the key before the MAC: a wrong key is a WrongKeyError, a bad MAC damage', async () => {
    const { header } = await Header.create(nodeCrypto, key, 1024);
    await assert.rejects(header.open(nodeCrypto, BackupKey.generate(nodeCrypto.randomBytes)), WrongKeyError);
    const forged = new Header(header.chunkSize, header.salt, header.keyCheck, new Uint8Array(32));
    await assert.rejects(
      forged.open(nodeCrypto, key),
      (e) => e instanceof DamagedBackupError && /MAC/.test(e.message),
    );
    const secrets = await header.open(webCrypto, key);
    assert.equal(secrets.streamKey.length, 32);
  });
});
