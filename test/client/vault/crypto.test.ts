// src/client/vault/crypto.ts: WebCrypto helpers must see exactly the bytes they are given, also when
// those bytes are a Node Buffer view into a shared pool (whose `.buffer` holds other data too).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256, toArrayBuffer } from '../../../src/client/vault/crypto.ts';

test('toArrayBuffer copies exactly the view, not the pool behind a Buffer', async () => {
  const pooled = Buffer.from('message');
  assert.ok(pooled.buffer.byteLength > pooled.length, 'small Buffers share a pool');
  const copy = toArrayBuffer(pooled);
  assert.equal(copy.byteLength, pooled.length);
  assert.deepEqual(new Uint8Array(copy), new Uint8Array(pooled));
  const expected = new Uint8Array(
    await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode('message')),
  );
  assert.deepEqual(await sha256(pooled), expected);
});
