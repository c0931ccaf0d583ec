// FormatCrypto over node:crypto: the fast path of docs/FORMAT.md §1's primitives on Node. Produces the
// same bytes as the WebCrypto implementation (test/format/vectors.test.ts checks both).
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdf } from 'node:crypto';
import type { Aead, FormatCrypto } from '../../format/crypto.ts';
import { raiseMallocThreshold } from './malloc-threshold.ts';
import { randomBytesPooled } from './random-pool.ts';

const TAG_LENGTH = 16;

/** Splits `pieces` into everything but the last `TAG_LENGTH` bytes, and those bytes. */
export function splitTag(pieces: readonly Uint8Array[]): { body: Uint8Array[]; tag: Uint8Array } | null {
  let total = 0;
  for (const piece of pieces) total += piece.length;
  if (total < TAG_LENGTH) return null;
  const body: Uint8Array[] = [];
  const tag = new Uint8Array(TAG_LENGTH);
  let bodyLeft = total - TAG_LENGTH;
  let tagOffset = 0;
  for (const piece of pieces) {
    const inBody = Math.min(bodyLeft, piece.length);
    if (inBody > 0) body.push(piece.subarray(0, inBody));
    bodyLeft -= inBody;
    if (inBody < piece.length) {
      tag.set(piece.subarray(inBody), tagOffset);
      tagOffset += piece.length - inBody;
    }
  }
  return { body, tag };
}

export const nodeCrypto: FormatCrypto = {
  randomBytes: randomBytesPooled,

  hkdfSha256(ikm, salt, info, length) {
    return new Promise((resolve, reject) =>
      hkdf('sha256', ikm, salt, info, length, (error, key) =>
        error ? reject(error) : resolve(new Uint8Array(key)),
      ),
    );
  },

  async hmacSha256(key, data) {
    return new Uint8Array(createHmac('sha256', key).update(data).digest());
  },

  async sha256(data) {
    return new Uint8Array(createHash('sha256').update(data).digest());
  },

  async aes256Gcm(rawKey): Promise<Aead> {
    // Each piece is encrypted whole, so its output is as large as it: keep such buffers mapped.
    raiseMallocThreshold();
    // node:crypto takes raw key bytes on each call, so keep a private copy; it lives until the
    // stream calls destroy() and is not reachable from outside.
    const key = Buffer.from(rawKey);
    return {
      async seal(nonce, plaintext) {
        const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
        const out: Uint8Array[] = [];
        for (const piece of plaintext) out.push(cipher.update(piece));
        cipher.final();
        out.push(cipher.getAuthTag());
        return out;
      },
      async open(nonce, sealed) {
        const parts = splitTag(sealed);
        if (parts === null) return null;
        const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LENGTH });
        decipher.setAuthTag(parts.tag);
        const out: Uint8Array[] = [];
        for (const piece of parts.body) out.push(decipher.update(piece));
        try {
          decipher.final();
        } catch {
          // A tag mismatch; the plaintext computed so far is dropped unseen.
          for (const piece of out) piece.fill(0);
          return null;
        }
        return out;
      },
      destroy() {
        key.fill(0);
      },
    };
  },
};
