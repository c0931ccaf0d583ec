// Repository snapshots in the account's backup list (docs/PROTOCOL.md "ChatD: Backup list"; docs/CHATD.md
// "Repositories in ChatD storage"): each snapshot made through ChatD is listed so the account's
// other devices see it, and unlisted when it is forgotten. An entry tells ChatD nothing it does not
// see already: the id is the snapshot's (the random part of its object's name), the size what the
// run uploaded, the time when it was made.

import { BackupEntry, MAX_BACKUP_ENTRIES } from '../../protocol/chatd/backups.ts';
import { BlobNotFoundError } from '../../stores/blob/blob-store.ts';
import { isSnapshotId, type SnapshotInfo } from '../repository/repository.ts';
import type { AccountUsage, RetentionAccount } from '../repository/retention.ts';
import type { ChatdClient } from './client.ts';

/**
 * The snapshot an entry lists, or undefined for a single-stream backup's entry: a snapshot is
 * listed under its own id (32 hex digits, the random part of its object's name), which no
 * single-stream backup's time-stamped id can be.
 */
export function snapshotIdOfEntry(entry: BackupEntry): string | undefined {
  return isSnapshotId(entry.id) ? entry.id : undefined;
}

/**
 * Lists `snapshot` in the account's backup list. `location` is where its repository is (`chatd:`
 * for the account's storage). The size is the bytes its run uploaded, never the snapshot's content
 * size: ChatD saw those bytes arrive, while the content size would tell it more (docs/CHATD.md
 * "Repositories in ChatD storage", what ChatD learns).
 */
export async function registerSnapshot(
  client: ChatdClient,
  snapshot: SnapshotInfo,
  location: string,
): Promise<BackupEntry> {
  const entry = new BackupEntry({
    id: snapshot.id,
    size: BigInt(snapshot.added),
    createdAtMs: BigInt(Date.parse(snapshot.time)),
    location,
  });
  await client.addBackup(entry);
  return entry;
}

/** Drops snapshot `id` from the backup list; an entry already gone (another device's retention) is fine. */
export async function unregisterSnapshot(client: ChatdClient, snapshotId: string): Promise<void> {
  try {
    await client.removeBackup(snapshotId);
  } catch (error) {
    if (!(error instanceof BlobNotFoundError)) throw error;
  }
}

/** The account behind ChatD as retention sees it: its quota, its usage, its backup list. */
export class ChatdRetentionAccount implements RetentionAccount {
  constructor(private readonly client: ChatdClient) {}

  async usage(): Promise<AccountUsage> {
    const info = await this.client.accountInfo();
    const listed = (await this.client.listBackups()).length;
    return {
      quotaBytes: Number(info.quotaBytes),
      usedBytes: Number(info.usedBytes),
      entriesLeft: MAX_BACKUP_ENTRIES - listed,
    };
  }

  snapshotForgotten(id: string): Promise<void> {
    return unregisterSnapshot(this.client, id);
  }
}
