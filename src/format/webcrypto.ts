// FormatCrypto over WebCrypto (W3C Web Cryptography API): the browser path of docs/FORMAT.md
// "Primitives". Node also has globalThis.crypto, so the same code is tested there.
import { type Aead, concatBytes, type FormatCrypto } from './crypto.ts';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;
const bytes = (buffer: ArrayBuffer): Uint8Array => new Uint8Array(buffer);
const encoder = new TextEncoder();
// TypeScript's DOM types refuse views that might sit on a SharedArrayBuffer; ours never do.
const source = (view: Uint8Array): Uint8Array<ArrayBuffer> => view as Uint8Array<ArrayBuffer>;

export const webCrypto: FormatCrypto = {
  randomBytes(length) {
    const out = new Uint8Array(length);
    // getRandomValues fills at most 65536 bytes per call.
    for (let offset = 0; offset < length; offset += 65536) {
      globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
    }
    return out;
  },

  async hkdfSha256(ikm, salt, info, length) {
    const key = await subtle().importKey('raw', source(ikm), 'HKDF', false, ['deriveBits']);
    const params = { name: 'HKDF', hash: 'SHA-256', salt: source(salt), info: encoder.encode(info) };
    return bytes(await subtle().deriveBits(params, key, length * 8));
  },

  async hmacSha256(key, data) {
    const hmacKey = await subtle().importKey('raw', source(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    return bytes(await subtle().sign('HMAC', hmacKey, source(data)));
  },

  async sha256(data) {
    return bytes(await subtle().digest('SHA-256', source(data)));
  },

  async aes256Gcm(rawKey): Promise<Aead> {
    // Non-extractable: after this call the key lives only inside the CryptoKey.
    const key = await subtle().importKey('raw', source(rawKey), 'AES-GCM', false, ['encrypt', 'decrypt']);
    return {
      async seal(nonce, plaintext) {
        return [
          bytes(
            await subtle().encrypt(
              { name: 'AES-GCM', iv: source(nonce), tagLength: 128 },
              key,
              source(concatBytes(plaintext)),
            ),
          ),
        ];
      },
      async open(nonce, sealed) {
        try {
          const params = { name: 'AES-GCM', iv: source(nonce), tagLength: 128 };
          return [bytes(await subtle().decrypt(params, key, source(concatBytes(sealed))))];
        } catch {
          // OperationError is the only outcome of a tag mismatch; its detail is not useful to anyone.
          return null;
        }
      },
    };
  },
};
