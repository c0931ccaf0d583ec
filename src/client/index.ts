// The Strongroom client SDK, browser-safe part (README "SDK"): the backup key, the backup stream on
// async iterables and web streams, backups in a blob store, the typed errors callers act on, the
// device's side of ChatD (docs/PROTOCOL.md §15) and the vault client (docs/PROTOCOL.md "Client").
// Imports nothing server-side and no node: module (scripts/check-boundaries.mjs keeps it so).
// Node-only parts (filesystem archives, directory and S3 stores, node:crypto) are in ./node/index.ts.
import type { BackupKey } from '../format/key.ts';
import { decryptStream, encryptStream } from '../format/stream.ts';
import { webCrypto } from '../format/webcrypto.ts';
import { fromWebStream, toWebStream } from './backup/web-streams.ts';

export {
  DamagedBackupError,
  ExitCode,
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
export { deriveMetadataKey } from '../format/derive.ts';
export { DEFAULT_CHUNK_SIZE, Header } from '../format/header.ts';
export { BackupKey } from '../format/key.ts';
export { decryptStream, type EncryptOptions, encryptStream } from '../format/stream.ts';
export { webCrypto } from '../format/webcrypto.ts';
export { AccountInfo } from '../protocol/chatd/account.ts';
export { BackupEntry } from '../protocol/chatd/backups.ts';
export { DeviceState } from '../protocol/chatd/handshake.ts';
export { JoinCodeSent } from '../protocol/chatd/join.ts';
export { Notification, NotificationKind } from '../protocol/chatd/notification.ts';
export { recordIdFor } from '../protocol/chatd/record-id.ts';
export { type BlobInfo, BlobNotFoundError, type BlobStore } from '../stores/blob/blob-store.ts';
export {
  type BackupInfo,
  downloadBackup,
  findBackup,
  listBackups,
  newBackupId,
  type UploadOptions,
  uploadBackup,
} from './backup/backups.ts';
export { webCodec } from './backup/web-codec.ts';
export { fromWebStream, toWebStream } from './backup/web-streams.ts';
export {
  ChatdBlobStore,
  ChatdClient,
  ChatdRequestError,
  ChatdVaultTransport,
  type ConnectOptions,
  DeviceIdentity,
  type FrameSocket,
  openGlobalSocket,
  type SocketOpener,
} from './chatd/index.ts';
export {
  type Argon2idParameters,
  DEFAULT_ARGON2ID,
  FleetPublicInfo,
  HttpVaultTransport,
  InMemoryRecordMemory,
  type RecordMemory,
  RecordStatus,
  type RecordSummary,
  type RecoveryResult,
  type RememberedRecord,
  VaultClient,
  type VaultClientOptions,
  type VaultTransport,
} from './vault/index.ts';

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
