// WebCrypto helpers of the vault client (browser-safe; docs/PROTOCOL.md "Client keys"): HKDF,
// AES-256-GCM, HMAC-SHA256, SHA-256. Keys derived here are raw bytes the caller zeroes when done.

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/**
 * A fresh ArrayBuffer holding exactly `bytes`. Not `bytes.slice().buffer`: a Node Buffer's slice is
 * a view, and its `.buffer` is the whole shared pool, other messages included.
 */
export const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer;

export function randomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', toArrayBuffer(bytes)));
}

/** HKDF-SHA256 (RFC 5869) extract-then-expand. */
export async function hkdf(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const key = await subtle().importKey('raw', toArrayBuffer(ikm), 'HKDF', false, ['deriveBits']);
  const bits = await subtle().deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: toArrayBuffer(salt), info: toArrayBuffer(info) },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

export async function hmacSha256(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const k = await subtle().importKey('raw', toArrayBuffer(key), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return new Uint8Array(await subtle().sign('HMAC', k, toArrayBuffer(message)));
}

export async function aesGcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  const k = await subtle().importKey('raw', toArrayBuffer(key), 'AES-GCM', false, ['encrypt']);
  return new Uint8Array(
    await subtle().encrypt(
      { name: 'AES-GCM', iv: toArrayBuffer(nonce), additionalData: toArrayBuffer(aad) },
      k,
      toArrayBuffer(plaintext),
    ),
  );
}

/** Throws when the tag does not verify. */
export async function aesGcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  const k = await subtle().importKey('raw', toArrayBuffer(key), 'AES-GCM', false, ['decrypt']);
  return new Uint8Array(
    await subtle().decrypt(
      { name: 'AES-GCM', iv: toArrayBuffer(nonce), additionalData: toArrayBuffer(aad) },
      k,
      toArrayBuffer(ciphertext),
    ),
  );
}

/** Constant-time comparison for MACs. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
