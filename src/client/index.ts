// `strongroom/client`, the SDK's browser-safe core (docs/API.md "strongroom/client"): the backup
// key, the backup stream on async iterables and web streams, archives, backups in any blob store,
// and the errors callers act on. It loads neither OPAQUE nor the vault client nor ChatD's client:
// those are `strongroom/client/vault` (./vault/index.ts) and `strongroom/client/chatd`
// (./chatd/index.ts), so an app that only encrypts and decrypts bundles none of them
// (docs/API.md "Bundle sizes"). Imports nothing server-side and no node: module
// (scripts/check-boundaries.mjs keeps it so); Node-only parts are in ./node/index.ts.
import type { BackupKey } from '../format/key.ts';
import { decryptStream, encryptStream } from '../format/stream.ts';
import { webCrypto } from '../format/webcrypto.ts';
import { fromWebStream, toWebStream } from './backup/web-streams.ts';

export {
  DamagedBackupError,
  LockedError,
  NoRecordError,
  StrongroomError,
  TamperingError,
  UnavailableError,
  UsageError,
  WrongKeyError,
  WrongPasswordError,
} from '../errors.ts';
export {
  type ArchiveEntry,
  type Codec,
  type ReadEntry,
  readArchive,
  type WriteEntry,
  writeArchive,
} from '../format/archive.ts';
export type { Aead, FormatCrypto } from '../format/crypto.ts';
export { BackupKey } from '../format/key.ts';
export { decryptStream, type EncryptOptions, encryptStream } from '../format/stream.ts';
export { webCrypto } from '../format/webcrypto.ts';
export { type BlobInfo, BlobNotFoundError, type BlobStore } from '../stores/blob/blob-store.ts';
export {
  type BackupInfo,
  downloadBackup,
  findBackup,
  listBackups,
  type UploadOptions,
  uploadBackup,
} from './backup/backups.ts';
export { webCodec } from './backup/web-codec.ts';

/** Encrypts a web ReadableStream into a backup stream (WebCrypto). */
export function encryptWebStream(
  input: ReadableStream<Uint8Array>,
  key: BackupKey,
  options: { chunkSize?: number } = {},
): ReadableStream<Uint8Array> {
  return toWebStream(encryptStream(fromWebStream(input), key, { ...options, crypto: webCrypto }));
}

/**
 * Decrypts a backup stream given as a web ReadableStream. The output errors with WrongKeyError or
 * DamagedBackupError; it is complete and authentic only if it closes without error.
 */
export function decryptWebStream(
  input: ReadableStream<Uint8Array>,
  key: BackupKey,
): ReadableStream<Uint8Array> {
  return toWebStream(decryptStream(fromWebStream(input), key, { crypto: webCrypto }));
}
