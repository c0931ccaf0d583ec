// Tests of src/hsm-platform/primitives.ts against published vectors: SHA-256 (FIPS 180-2 "abc"),
// HMAC-SHA256 (RFC 4231 case 2), HKDF-SHA256 (RFC 5869 A.1), Ed25519 (RFC 8032 7.1 TEST 1),
// AES-256-GCM (McGrew-Viega GCM spec, test case 14); and every length check and failure path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ed25519PublicKey, nodePrimitives as p } from '../../src/hsm-platform/primitives.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('node:crypto CorePrimitives', () => {
  test('SHA-256 of "abc", given in parts', () => {
    assert.equal(
      toHex(p.sha256(utf8('a'), utf8('bc'))),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  test('HMAC-SHA256, RFC 4231 test case 2', () => {
    assert.equal(
      toHex(p.hmacSha256(utf8('Jefe'), utf8('what do ya want '), utf8('for nothing?'))),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  test('HKDF-SHA256, RFC 5869 A.1', () => {
    const okm = p.hkdfSha256(
      hex('0b'.repeat(22)),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    assert.equal(
      toHex(okm),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  test('Ed25519, RFC 8032 TEST 1: public key, signature, verification', () => {
    const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const publicKey = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = p.ed25519Sign(seed, new Uint8Array(0));
    assert.equal(toHex(ed25519PublicKey(seed)), toHex(publicKey));
    assert.equal(
      toHex(signature),
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    assert.equal(p.ed25519Verify(publicKey, new Uint8Array(0), signature), true);
    assert.equal(p.ed25519Verify(publicKey, Uint8Array.of(0), signature), false);
    const flipped = Uint8Array.from(signature);
    flipped[10]! ^= 1;
    assert.equal(p.ed25519Verify(publicKey, new Uint8Array(0), flipped), false);
    assert.equal(p.ed25519Verify(publicKey, new Uint8Array(0), signature.subarray(0, 63)), false);
  });

  test('Ed25519 key cache follows a reused seed buffer', () => {
    const seed = p.randomBytes(32);
    const first = ed25519PublicKey(seed);
    const message = utf8('endorse');
    assert.ok(p.ed25519Verify(first, message, p.ed25519Sign(seed, message)));
    seed.set(p.randomBytes(32)); // same buffer, new key: the cache must not sign with the old one
    const second = ed25519PublicKey(seed);
    assert.notEqual(toHex(first), toHex(second));
    const signature = p.ed25519Sign(seed, message);
    assert.ok(p.ed25519Verify(second, message, signature));
    assert.equal(p.ed25519Verify(first, message, signature), false);
  });

  test('Ed25519 refuses wrong key sizes; a non-point public key verifies nothing', () => {
    assert.throws(() => p.ed25519Sign(new Uint8Array(31), utf8('m')), /Ed25519 private key must be 32 bytes/);
    assert.throws(() => p.ed25519Verify(new Uint8Array(33), utf8('m'), new Uint8Array(64)), /public key/);
    // y = 2 is not on the curve (no square root of x^2 exists).
    const notAPoint = new Uint8Array(32);
    notAPoint[0] = 2;
    assert.equal(p.ed25519Verify(notAPoint, utf8('m'), new Uint8Array(64)), false);
  });

  test('AES-256-GCM, GCM spec test case 14, and its failure paths', () => {
    const key = new Uint8Array(32);
    const nonce = new Uint8Array(12);
    const sealed = p.aes256GcmSeal(key, nonce, new Uint8Array(16), new Uint8Array(0));
    assert.equal(toHex(sealed), 'cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919');
    assert.deepEqual(p.aes256GcmOpen(key, nonce, sealed, new Uint8Array(0)), new Uint8Array(16));
    const tampered = Uint8Array.from(sealed);
    tampered[0]! ^= 1;
    assert.throws(() => p.aes256GcmOpen(key, nonce, tampered, new Uint8Array(0)), /did not authenticate/);
    assert.throws(() => p.aes256GcmOpen(key, nonce, sealed, Uint8Array.of(1)), /did not authenticate/);
    assert.throws(() => p.aes256GcmOpen(key, nonce, sealed.subarray(0, 15), new Uint8Array(0)), /shorter/);
    assert.throws(() => p.aes256GcmSeal(new Uint8Array(16), nonce, sealed, sealed), /key must be 32 bytes/);
    assert.throws(() => p.aes256GcmSeal(key, new Uint8Array(16), sealed, sealed), /nonce must be 12 bytes/);
  });

  test('timingSafeEqual and randomBytes', () => {
    assert.equal(p.timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
    assert.equal(p.timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
    assert.equal(p.timingSafeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)), false);
    const a = p.randomBytes(32);
    assert.equal(a.length, 32);
    assert.notEqual(toHex(a), toHex(p.randomBytes(32)));
  });
});
