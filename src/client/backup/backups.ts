// Backups kept in a blob store (README "SDK"): naming, listing, upload and download of backup
// streams. Browser-safe: works on any BlobStore and FormatCrypto.
import type { FormatCrypto } from '../../format/crypto.ts';
import type { BackupKey } from '../../format/key.ts';
import { decryptStream, encryptStream } from '../../format/stream.ts';
import { toHex } from '../../protocol/vault/bytes.ts';
import { BlobNotFoundError, type BlobStore, type IgnoredListener } from '../../stores/blob/blob-store.ts';

/** Blob names of backups end with this; other blobs in a store are ignored. */
export const BACKUP_SUFFIX = '.srb';

export interface BackupInfo {
  /** e.g. 20261126T185700.123Z-3f9a1c2b: creation time (UTC, ms) and 32 random bits; sorts by time. */
  readonly id: string;
  /** Bytes of the encrypted stream. */
  readonly size: number;
  readonly created: Date;
}

const ID_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z-[0-9a-f]{8}$/;

export function newBackupId(now: Date, randomBytes: (length: number) => Uint8Array): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  const suffix = toHex(randomBytes(4));
  return `${stamp}-${suffix}`;
}

/** The time an id records, or null when it is not an id (wrong shape, or a date such as 2026-02-30). */
function createdAt(id: string): Date | null {
  const m = ID_PATTERN.exec(id);
  if (m === null) return null;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`;
  const date = new Date(iso);
  // Date rolls an impossible day over into the next month; the round trip catches that too.
  return Number.isNaN(date.getTime()) || date.toISOString() !== iso ? null : date;
}

/**
 * The store's backups, oldest first. A blob named like a backup whose id is not one (docs/FORMAT.md
 * §7), or an entry the store cannot read, is left out and passed to `onIgnored`; other blobs are not
 * backups and are left out silently.
 */
export async function listBackups(store: BlobStore, onIgnored?: IgnoredListener): Promise<BackupInfo[]> {
  const backups: BackupInfo[] = [];
  for (const blob of await store.list('', onIgnored)) {
    if (!blob.name.endsWith(BACKUP_SUFFIX)) continue;
    const id = blob.name.slice(0, -BACKUP_SUFFIX.length);
    const created = createdAt(id);
    if (created !== null) backups.push({ id, size: blob.size, created });
    else onIgnored?.(blob.name, 'not a backup id (YYYYMMDDTHHMMSS.mmmZ-xxxxxxxx with a real date)');
  }
  return backups.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The backup `id`, or the latest one when `id` is absent. */
export async function findBackup(store: BlobStore, id?: string): Promise<BackupInfo> {
  const backups = await listBackups(store);
  const found = id === undefined ? backups.at(-1) : backups.find((b) => b.id === id);
  if (found === undefined) {
    throw new BlobNotFoundError(
      id === undefined ? `no backups in ${store.location}` : `no backup ${id} in ${store.location}`,
      { hints: ['`strongroom backup list --from STORE` shows the backups there'] },
    );
  }
  return found;
}

export interface UploadOptions {
  crypto: FormatCrypto;
  chunkSize?: number;
  /** The time the id records; now by default. */
  now?: Date;
}

/** Encrypts `plaintext` under `key` and streams it into `store` as a new backup. */
export async function uploadBackup(
  store: BlobStore,
  plaintext: AsyncIterable<Uint8Array>,
  key: BackupKey,
  options: UploadOptions,
): Promise<BackupInfo> {
  const { crypto } = options;
  const created = options.now ?? new Date();
  const id = newBackupId(created, crypto.randomBytes);
  const size = await store.put(`${id}${BACKUP_SUFFIX}`, encryptStream(plaintext, key, options));
  return { id, size, created };
}

/**
 * Streams and decrypts backup `id`. The plaintext is complete and authentic only when the
 * iteration ends without error (see decryptStream).
 */
export function downloadBackup(
  store: BlobStore,
  id: string,
  key: BackupKey,
  options: { crypto: FormatCrypto; onCiphertext?: (bytes: number) => void },
): AsyncIterable<Uint8Array> {
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of store.get(`${id}${BACKUP_SUFFIX}`)) {
      options.onCiphertext?.(piece.length);
      yield piece;
    }
  }
  return decryptStream(counted(), key, options);
}
