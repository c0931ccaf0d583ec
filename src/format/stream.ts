// The STREAM construction over AES-256-GCM (docs/FORMAT.md "Chunks"; Hoang, Reyhanitabar, Rogaway
// and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015).
//
//   stream = header || chunk_0 || ... || chunk_n
//   chunk_i = AES-256-GCM(stream key, nonce_i, plaintext_i)      (ciphertext || 16-byte tag)
//   nonce_i = uint88 big-endian i || 0x00    for every chunk but the last
//   nonce_n = uint88 big-endian n || 0x01    for the last chunk
//
// Every chunk but the last holds exactly `chunk size` plaintext bytes; the last holds 1..chunk size,
// or 0 only when it is the only chunk (an empty payload).
import { DamagedBackupError } from '../errors.ts';
import { type Aead, concatBytes, type FormatCrypto } from './crypto.ts';
import { destroyStreamSecrets } from './derive.ts';
import { couldStartBackup, DEFAULT_CHUNK_SIZE, HEADER_LENGTH, Header, notABackup } from './header.ts';
import type { BackupKey } from './key.ts';
import { PieceReader } from './reader.ts';

export const TAG_LENGTH = 16;
const NONCE_LENGTH = 12;
/**
 * Chunks sealed or opened concurrently unless the Aead asks for more (Aead.inFlight), so an
 * asynchronous Aead (WebCrypto works off the main thread) overlaps them with reading and writing.
 */
export const DEFAULT_IN_FLIGHT = 2;

export interface EncryptOptions {
  crypto: FormatCrypto;
  /** Plaintext bytes per chunk (a power of two, 2^10..2^24); 1 MiB by default. */
  chunkSize?: number;
  /** The header salt; random by default. Only test vectors fix it. */
  salt?: Uint8Array;
}

/** The nonce of chunk `index`: the index as 88-bit big-endian, then the last-chunk flag. */
export function chunkNonce(index: number, last: boolean): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`chunk index ${index} out of range`);
  const nonce = new Uint8Array(NONCE_LENGTH);
  const view = new DataView(nonce.buffer);
  view.setUint32(3, Math.floor(index / 2 ** 32));
  view.setUint32(7, index >>> 0);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * Marks a queued chunk's promise as handled: it is awaited in order later, but may settle while an
 * earlier one is awaited, and Node would otherwise report its rejection as unhandled.
 */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Encrypts `plaintext` into a backup stream: the header, then the chunks, as they are ready. */
export async function* encryptStream(
  plaintext: AsyncIterable<Uint8Array>,
  key: BackupKey,
  options: EncryptOptions,
): AsyncGenerator<Uint8Array> {
  const { crypto } = options;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const { header, secrets } = await Header.create(crypto, key, chunkSize, options.salt);
  const aead = await crypto.aes256Gcm(secrets.streamKey);
  destroyStreamSecrets(secrets);
  yield header.serialize();

  const reader = new PieceReader(plaintext);
  const queue: Promise<Uint8Array[]>[] = [];
  try {
    let index = 0;
    for (;;) {
      const { pieces, total } = await reader.read(chunkSize);
      // A full chunk is the last one only if nothing follows it: look one byte ahead.
      const last = total < chunkSize || (await reader.atEnd());
      queue.push(quiet(aead.seal(chunkNonce(index, last), pieces)));
      index++;
      if (last) break;
      if (queue.length >= (aead.inFlight ?? DEFAULT_IN_FLIGHT)) yield* await queue.shift()!;
    }
    while (queue.length > 0) yield* await queue.shift()!;
  } finally {
    aead.destroy?.();
    await reader.close();
  }
}

/**
 * Decrypts a backup stream. Checks the key against the header before reading any chunk
 * (WrongKeyError), then yields each chunk's plaintext once its tag verifies. The plaintext is only
 * known to be complete when the generator returns: a DamagedBackupError can still come at the end
 * (truncation), so callers write to a temporary place and keep it only after the last byte.
 */
export async function* decryptStream(
  stream: AsyncIterable<Uint8Array>,
  key: BackupKey,
  options: { crypto: FormatCrypto },
): AsyncGenerator<Uint8Array> {
  const { crypto } = options;
  const reader = new PieceReader(stream);
  try {
    const { pieces, total } = await reader.read(HEADER_LENGTH);
    const headerBytes = concatBytes(pieces);
    if (total < HEADER_LENGTH) {
      if (!couldStartBackup(headerBytes)) throw notABackup();
      throw new DamagedBackupError('backup truncated: it ends inside the header', {
        hints: ['the upload or copy of this backup did not finish'],
      });
    }
    const header = Header.deserialize(headerBytes);
    const secrets = await header.open(crypto, key);
    const aead = await crypto.aes256Gcm(secrets.streamKey);
    destroyStreamSecrets(secrets);
    try {
      yield* openChunks(reader, aead, header.chunkSize + TAG_LENGTH);
    } finally {
      aead.destroy?.();
    }
  } finally {
    await reader.close();
  }
}

async function* openChunks(reader: PieceReader, aead: Aead, sealedSize: number): AsyncGenerator<Uint8Array> {
  const queue: Promise<Uint8Array[]>[] = [];
  for (let index = 0; ; index++) {
    const { pieces, total } = await reader.read(sealedSize);
    const last = total < sealedSize || (await reader.atEnd());
    // The stream ends where a chunk should start (or inside a tag).
    if (total < TAG_LENGTH) throw truncated(index);
    // Only an empty payload has an empty chunk; an encoder never writes one after others.
    if (total === TAG_LENGTH && index > 0) throw damagedChunk(index);
    queue.push(quiet(openChunk(aead, pieces, index, last, total === sealedSize)));
    if (last) break;
    if (queue.length >= (aead.inFlight ?? DEFAULT_IN_FLIGHT)) yield* await queue.shift()!;
  }
  while (queue.length > 0) yield* await queue.shift()!;
}

async function openChunk(
  aead: Aead,
  pieces: Uint8Array[],
  index: number,
  last: boolean,
  full: boolean,
): Promise<Uint8Array[]> {
  const plaintext = await aead.open(chunkNonce(index, last), pieces);
  if (plaintext !== null) return plaintext;
  // A full final chunk that opens as a middle chunk means the stream was cut after it.
  if (last && full && (await aead.open(chunkNonce(index, false), pieces)) !== null)
    throw truncated(index + 1);
  throw damagedChunk(index);
}

const damagedChunk = (index: number) =>
  new DamagedBackupError(
    `chunk ${index} failed to decrypt and authenticate: the backup is damaged or was tampered with`,
    { hints: ['nothing from this backup was kept; try another copy or an older backup'] },
  );

const truncated = (index: number) =>
  new DamagedBackupError(`backup truncated: it ends before chunk ${index} where more data was expected`, {
    hints: ['the upload or copy of this backup did not finish; nothing from it was kept'],
  });
