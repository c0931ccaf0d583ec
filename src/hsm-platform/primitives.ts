// CorePrimitives (src/hsm-core/platform.ts) over node:crypto: the fast native primitives a host gives
// the core (docs/SECURITY.md "The three deployments"). Every input length is checked here, so a
// core bug passing a short key fails loudly instead of silently using a weaker key.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import type { CorePrimitives } from '../hsm-core/platform.ts';

const AES_256_KEY_LENGTH = 32;
const GCM_NONCE_LENGTH = 12;
const GCM_TAG_LENGTH = 16;
const ED25519_SEED_LENGTH = 32;
const ED25519_PUBLIC_KEY_LENGTH = 32;
const ED25519_SIGNATURE_LENGTH = 64;
/** Public keys verified are fleet members (a handful); the bound only stops unbounded growth. */
const PUBLIC_KEY_CACHE_LIMIT = 256;

function requireLength(what: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes`);
}

/**
 * Ed25519 private keys as the core holds them: the 32-byte seed (RFC 8032 section 5.1.5). Importing a
 * seed into a KeyObject costs far more than signing (about 0.4 ms against 0.04 ms here), so the
 * KeyObject is cached per seed buffer; the cache holds a copy of the seed to detect a buffer that was
 * since overwritten (e.g. zeroed by the core at the end of the secret's life), and drops the entry
 * with the buffer (WeakMap).
 */
/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows (RFC 8410 section 7). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const signingKeys = new WeakMap<Uint8Array, { seed: Buffer; key: KeyObject }>();

function signingKey(seed: Uint8Array): KeyObject {
  requireLength('Ed25519 private key', seed, ED25519_SEED_LENGTH);
  const cached = signingKeys.get(seed);
  if (cached && timingSafeEqual(cached.seed, seed)) return cached.key;
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  der.fill(0);
  signingKeys.set(seed, { seed: Buffer.from(seed), key });
  return key;
}

const verifyingKeys = new Map<string, KeyObject>();

function verifyingKey(publicKey: Uint8Array): KeyObject {
  requireLength('Ed25519 public key', publicKey, ED25519_PUBLIC_KEY_LENGTH);
  const id = Buffer.from(publicKey).toString('hex');
  let key = verifyingKeys.get(id);
  if (key === undefined) {
    key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
      format: 'jwk',
    });
    if (verifyingKeys.size >= PUBLIC_KEY_CACHE_LIMIT) verifyingKeys.clear();
    verifyingKeys.set(id, key);
  }
  return key;
}

/** The public key of an Ed25519 seed (for the ceremony and tests; the core never needs it). */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const jwk = createPublicKey(signingKey(seed)).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
}

function gcmChecks(key: Uint8Array, nonce: Uint8Array): void {
  requireLength('AES-256-GCM key', key, AES_256_KEY_LENGTH);
  requireLength('AES-GCM nonce', nonce, GCM_NONCE_LENGTH);
}

export const nodePrimitives: CorePrimitives = {
  randomBytes(length: number): Uint8Array {
    return new Uint8Array(randomBytes(length));
  },

  sha256(...parts: Uint8Array[]): Uint8Array {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return new Uint8Array(hash.digest());
  },

  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    const mac = createHmac('sha256', key);
    for (const part of parts) mac.update(part);
    return new Uint8Array(mac.digest());
  },

  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
  },

  ed25519Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, signingKey(privateKey)));
  },

  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== ED25519_SIGNATURE_LENGTH) return false;
    let key: KeyObject;
    try {
      key = verifyingKey(publicKey);
    } catch (error) {
      if (error instanceof RangeError) throw error; // wrong size: a caller bug, not a bad signature
      return false; // 32 bytes that are not a point: an invalid key verifies nothing
    }
    return verify(null, message, key, signature);
  },

  aes256GcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    gcmChecks(key, nonce);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_LENGTH });
    cipher.setAAD(aad);
    return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
  },

  aes256GcmOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
    gcmChecks(key, nonce);
    if (ciphertext.length < GCM_TAG_LENGTH) throw new RangeError('AES-GCM ciphertext shorter than its tag');
    const body = ciphertext.subarray(0, ciphertext.length - GCM_TAG_LENGTH);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - GCM_TAG_LENGTH));
    const plaintext = decipher.update(body);
    try {
      return new Uint8Array(Buffer.concat([plaintext, decipher.final()]));
    } catch {
      plaintext.fill(0); // unauthenticated plaintext never leaves this function
      throw new Error('AES-GCM: ciphertext did not authenticate');
    }
  },

  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
    // Lengths are public (they are fixed by the format), so comparing them first leaks nothing.
    return a.length === b.length && timingSafeEqual(a, b);
  },
};
