// Worker side of the multi-core AES-256-GCM (./worker-crypto.ts): seals and opens chunks with
// node:crypto for the main thread, which keeps the order (docs/BENCHMARKS.md "Backup stream").
import { parentPort } from 'node:worker_threads';
import type { Aead } from '../../format/crypto.ts';
import { nodeCrypto } from './node-crypto.ts';
import { ownedCopy } from './owned-copy.ts';

export interface AeadRequest {
  readonly id: number;
  readonly op: 'key' | 'seal' | 'open';
  /** 'key': the 32-byte key; 'seal' / 'open': the nonce. */
  readonly bytes: Uint8Array;
  readonly data?: Uint8Array;
}

export interface AeadResponse {
  readonly id: number;
  /** Ciphertext || tag, or plaintext; null when a tag did not verify. */
  readonly result: Uint8Array | null;
  readonly error?: string;
}

const port = parentPort!;
const aeads = new Map<number, Aead>();

port.on('message', async (message: AeadRequest & { keyId: number }) => {
  try {
    if (message.op === 'key') {
      aeads.set(message.keyId, await nodeCrypto.aes256Gcm(message.bytes));
      message.bytes.fill(0); // the worker's copy of the key lives inside the Aead only
      port.postMessage({ id: message.id, result: null } satisfies AeadResponse);
      return;
    }
    const aead = aeads.get(message.keyId)!;
    const pieces =
      message.op === 'seal'
        ? await aead.seal(message.bytes, [message.data!])
        : await aead.open(message.bytes, [message.data!]);
    const result = pieces === null ? null : ownedCopy(pieces);
    port.postMessage(
      { id: message.id, result } satisfies AeadResponse,
      result === null ? [] : [result.buffer as ArrayBuffer],
    );
  } catch (error) {
    port.postMessage({ id: message.id, result: null, error: String(error) } satisfies AeadResponse);
  }
});
