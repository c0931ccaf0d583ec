// Key schedule of the backup stream (docs/FORMAT.md "Key derivation"): every key
// comes from K by HKDF-SHA256 with its own label. The labels are the spec's strings.
import type { FormatCrypto } from './crypto.ts';
import type { BackupKey } from './key.ts';

export const LABEL_STREAM = 'strongroom/v1/stream';
export const LABEL_HEADER = 'strongroom/v1/header';
export const LABEL_KEY_CHECK = 'strongroom/v1/key-check';
export const LABEL_METADATA = 'strongroom/v1/metadata';

export const KEY_CHECK_LENGTH = 16;

/** The per-backup secrets derived from K and the header's salt. */
export interface StreamSecrets {
  /** AES-256-GCM key of the chunks. Zero it (`destroy`) when the stream ends. */
  readonly streamKey: Uint8Array;
  /** HMAC-SHA256 key of the header. */
  readonly headerKey: Uint8Array;
  /** Public value that tells whether a key is the right one without decrypting anything. */
  readonly keyCheck: Uint8Array;
}

/**
 * Derives the stream key, header key and key-check value of one backup. All three are salted with
 * the header's random salt, so no two backups share a stream key (and so a nonce sequence), and
 * two backups made with the same K cannot be linked through their key-check values.
 */
export async function deriveStreamSecrets(
  crypto: FormatCrypto,
  key: BackupKey,
  salt: Uint8Array,
): Promise<StreamSecrets> {
  const k = key.exposeBytes();
  return {
    streamKey: await crypto.hkdfSha256(k, salt, LABEL_STREAM, 32),
    headerKey: await crypto.hkdfSha256(k, salt, LABEL_HEADER, 32),
    keyCheck: await crypto.hkdfSha256(k, salt, LABEL_KEY_CHECK, KEY_CHECK_LENGTH),
  };
}

/** Zeroes the secret parts of `secrets` (the key-check value is public). */
export function destroyStreamSecrets(secrets: StreamSecrets): void {
  secrets.streamKey.fill(0);
  secrets.headerKey.fill(0);
}

/**
 * The metadata key: encrypts what describes backups (a manifest) rather than a backup itself. It
 * is not salted, so every device holding K derives the same one.
 */
export function deriveMetadataKey(crypto: FormatCrypto, key: BackupKey): Promise<Uint8Array> {
  return crypto.hkdfSha256(key.exposeBytes(), new Uint8Array(0), LABEL_METADATA, 32);
}
