// Backup and restore of paths on disk to a blob store (docs/BACKUP.md "SDK"; docs/FORMAT.md): the archive
// of the paths, optionally compressed, streamed through the backup stream encryption into the store,
// and back. Memory stays constant whatever the size of the files.
import { writeArchive } from '../../format/archive.ts';
import type { FormatCrypto } from '../../format/crypto.ts';
import type { BackupKey } from '../../format/key.ts';
import type { BlobStore } from '../../stores/blob/blob-store.ts';
import { type BackupInfo, downloadBackup, findBackup, uploadBackup } from '../backup/backups.ts';
import { type ArchivePlan, planArchive, readPlannedEntries, type SkippedEntry } from './archive-fs.ts';
import { checkDestination, type ExtractSummary, extractArchive } from './extract.ts';
import { nodeCrypto } from './node-crypto.ts';
import { zlibCodec } from './zlib-codec.ts';

/** Called as work advances: `done` of `total` bytes (file content when creating, ciphertext when restoring). */
export type ProgressListener = (done: number, total: number) => void;

export interface CreateBackupOptions {
  key: BackupKey;
  store: BlobStore;
  /** Deflate the archive (worth it for text; media does not shrink). Off by default. */
  compress?: boolean;
  chunkSize?: number;
  onProgress?: ProgressListener;
  /** Called once the paths have been scanned, before anything is read or uploaded. */
  onPlan?: (plan: ArchivePlan) => void;
  /** Stay on each path's file system (mount points are kept, empty). Off by default. */
  oneFileSystem?: boolean;
  crypto?: FormatCrypto;
}

export interface CreatedBackup extends BackupInfo {
  readonly plan: ArchivePlan;
  /**
   * Entries left out because they could not be read, or stored but changed while being read
   * (docs/BACKUP.md "Incomplete backups"); empty when `complete`.
   */
  readonly problems: readonly SkippedEntry[];
  /** False when the backup lacks or may misrepresent something (`problems` says what). */
  readonly complete: boolean;
}

/**
 * Backs up `paths` into a new backup in `options.store`; returns its id and size. Entries that
 * cannot be read are left out and listed in `problems` rather than fail the backup.
 */
export async function createBackup(
  paths: readonly string[],
  options: CreateBackupOptions,
): Promise<CreatedBackup> {
  const plan = await planArchive(paths, { oneFileSystem: options.oneFileSystem ?? false });
  options.onPlan?.(plan);
  const problems = [...plan.problems];
  let done = 0;
  const entries = readPlannedEntries(
    plan,
    (bytes) => {
      done += bytes;
      options.onProgress?.(done, plan.contentBytes);
    },
    (problem) => problems.push(problem),
  );
  const archive = writeArchive(entries, options.compress ? zlibCodec : undefined);
  const info = await uploadBackup(options.store, archive, options.key, {
    crypto: options.crypto ?? nodeCrypto,
    chunkSize: options.chunkSize,
  });
  return { ...info, plan, problems, complete: problems.length === 0 };
}

export interface RestoreBackupOptions {
  key: BackupKey;
  store: BlobStore;
  /** The backup to restore; the latest when absent. */
  id?: string;
  /** Directory to restore into. */
  to: string;
  /** Restore into a non-empty directory, replacing same-named entries. */
  force?: boolean;
  onProgress?: ProgressListener;
  crypto?: FormatCrypto;
}

/** Restores a backup into `options.to`; nothing is written there unless the whole backup verifies. */
export async function restoreBackup(options: RestoreBackupOptions): Promise<BackupInfo & ExtractSummary> {
  await checkDestination(options.to, options.force ?? false);
  const backup = await findBackup(options.store, options.id);
  let done = 0;
  const plaintext = downloadBackup(options.store, backup.id, options.key, {
    crypto: options.crypto ?? nodeCrypto,
    onCiphertext: (bytes) => {
      done += bytes;
      options.onProgress?.(done, backup.size);
    },
  });
  const summary = await extractArchive(plaintext, options.to, { force: options.force, codec: zlibCodec });
  return { ...backup, ...summary };
}
