// AES-256-GCM on worker threads (src/client/node/worker-crypto.ts): same bytes as node:crypto, the
// caller's buffers untouched (chunks travel in the pool's own shared slots), a failed tag gives
// null, and a pool that is closed fails its pending work instead of hanging. Whole streams and the
// committed vectors run through it in test/format/{stream,vectors}.test.ts.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createWorkerCrypto } from '../../../src/client/node/worker-crypto.ts';
import { concatBytes as join } from '../../../src/format/crypto.ts';
import { chunkNonce } from '../../../src/format/stream.ts';

/** The pieces' bytes as a plain Uint8Array (node:crypto returns Buffers, workers Uint8Arrays). */
const concatBytes = (pieces: readonly Uint8Array[]) => new Uint8Array(join(pieces));
const key = nodeCrypto.randomBytes(32);
const workers = createWorkerCrypto(2);
after(() => workers.close());

describe('worker crypto', () => {
  it('seals and opens exactly as node:crypto, leaving the caller pieces intact', async () => {
    const viaWorkers = await workers.aes256Gcm(key);
    const direct = await nodeCrypto.aes256Gcm(key);
    for (const size of [0, 1, 16, 32 * 1024 + 5, 300_000]) {
      const data = nodeCrypto.randomBytes(size);
      const pieces = [data.subarray(0, size >> 1), data.subarray(size >> 1)];
      const copy = data.slice();
      const nonce = chunkNonce(size, false);
      const sealed = concatBytes(await viaWorkers.seal(nonce, pieces));
      assert.deepEqual(sealed, concatBytes(await direct.seal(nonce, pieces)));
      assert.deepEqual(data, copy);
      const opened = await viaWorkers.open(nonce, [sealed]);
      assert.deepEqual(concatBytes(opened!), copy);
      assert.equal(sealed.length, size + 16);
    }
    viaWorkers.destroy?.();
    direct.destroy?.();
  });

  it('returns null for a damaged tag, a wrong nonce or a chunk shorter than a tag', async () => {
    const aead = await workers.aes256Gcm(key);
    const sealed = concatBytes(await aead.seal(chunkNonce(0, true), [nodeCrypto.randomBytes(1000)]));
    assert.equal(await aead.open(chunkNonce(0, false), [sealed]), null);
    sealed[sealed.length - 1]! ^= 1;
    assert.equal(await aead.open(chunkNonce(0, true), [sealed]), null);
    assert.equal(await aead.open(chunkNonce(0, true), [sealed.subarray(0, 15)]), null);
    aead.destroy?.();
  });

  it('fails pending work when the pool is closed', async () => {
    const pool = createWorkerCrypto(1);
    const aead = await pool.aes256Gcm(key);
    const pending = aead.seal(chunkNonce(0, true), [nodeCrypto.randomBytes(4 << 20)]);
    await pool.close();
    await assert.rejects(pending);
  });
});
