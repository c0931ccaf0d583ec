// The backup stream on Node streams (README "SDK"): node:crypto fast path, Node Readable in and out.
import { Readable } from 'node:stream';
import type { BackupKey } from '../../format/key.ts';
import { decryptStream, encryptStream } from '../../format/stream.ts';
import { nodeCrypto } from './node-crypto.ts';

/** Encrypts a Node readable (or any async iterable of bytes) into a readable backup stream. */
export function encryptNodeStream(
  input: AsyncIterable<Uint8Array>,
  key: BackupKey,
  options: { chunkSize?: number } = {},
): Readable {
  return Readable.from(encryptStream(input, key, { ...options, crypto: nodeCrypto }), { objectMode: false });
}

/**
 * Decrypts a backup stream. The readable errors with WrongKeyError or DamagedBackupError; its data
 * is complete and authentic only if it ends without error.
 */
export function decryptNodeStream(input: AsyncIterable<Uint8Array>, key: BackupKey): Readable {
  return Readable.from(decryptStream(input, key, { crypto: nodeCrypto }), { objectMode: false });
}
