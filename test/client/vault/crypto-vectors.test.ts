// The vault client's WebCrypto helpers (src/client/vault/crypto.ts; docs/PROTOCOL.md section 4, "Client keys")
// against published vectors: SHA-256 (FIPS 180-2 "abc"), HKDF-SHA256 (RFC 5869 A.1), HMAC-SHA256
// (RFC 4231 test case 2) and AES-256-GCM (McGrew-Viega test case 16, the one with AAD); an altered
// tag, nonce or AAD does not open; the MAC comparison is exact in length and in every byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  aesGcmOpen,
  aesGcmSeal,
  constantTimeEqual,
  hkdf,
  hmacSha256,
  randomBytes,
  sha256,
} from '../../../src/client/vault/crypto.ts';

const hex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

test('SHA-256, HKDF-SHA256 and HMAC-SHA256 match their published vectors', async () => {
  assert.deepEqual(
    await sha256(new TextEncoder().encode('abc')),
    hex('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'),
  );
  assert.deepEqual(
    await hkdf(
      hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    ),
    hex('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'),
  );
  assert.deepEqual(
    await hmacSha256(
      new TextEncoder().encode('Jefe'),
      new TextEncoder().encode('what do ya want for nothing?'),
    ),
    hex('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'),
  );
});

test('AES-256-GCM seals to the published vector and opens only with the same nonce, AAD and tag', async () => {
  const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
  const nonce = hex('cafebabefacedbaddecaf888');
  const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
  const plaintext = hex(`d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
    1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39`);
  const sealed = await aesGcmSeal(key, nonce, plaintext, aad);
  assert.deepEqual(
    sealed,
    hex(`522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10
      56828838c5f61e6393ba7a0abcc9f662 76fc6ece0f4e1768cddf8853bb2d551b`),
  );
  assert.deepEqual(await aesGcmOpen(key, nonce, sealed, aad), plaintext);
  const tag = Uint8Array.from(sealed);
  tag[tag.length - 1]! ^= 1;
  await assert.rejects(aesGcmOpen(key, nonce, tag, aad), { name: 'OperationError' });
  const otherNonce = Uint8Array.from(nonce);
  otherNonce[0]! ^= 1;
  await assert.rejects(aesGcmOpen(key, otherNonce, sealed, aad), { name: 'OperationError' });
  await assert.rejects(aesGcmOpen(key, nonce, sealed, new Uint8Array(0)), { name: 'OperationError' });
});

test('random bytes come in the length asked for and differ', () => {
  const a = randomBytes(32);
  assert.equal(a.length, 32);
  assert.equal(randomBytes(0).length, 0);
  assert.notDeepEqual(a, randomBytes(32));
});

test('the MAC comparison is true only for equal length and every byte equal', () => {
  const mac = hex('00112233445566778899aabbccddeeff');
  assert.equal(constantTimeEqual(mac, Uint8Array.from(mac)), true);
  assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
  for (const index of [0, 7, mac.length - 1]) {
    const other = Uint8Array.from(mac);
    other[index]! ^= 0x80;
    assert.equal(constantTimeEqual(mac, other), false, `byte ${index} differs`);
  }
  assert.equal(constantTimeEqual(mac, mac.subarray(0, 15)), false);
  assert.equal(constantTimeEqual(mac.subarray(0, 15), mac), false);
});
