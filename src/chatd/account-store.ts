// Where ChatD keeps its state (docs/CHATD.md "State" and "ChatD across regions"): accounts, their
// devices, pending join codes (hashed), the backup list, the blob index and the notification log.
// Two implementations: SQLite in the data dir (database.ts, the embedded default) and etcd shared
// by every ChatD of a deployment (etcd-account-store.ts). Every method that reads and then writes
// is one atomic step of the store, so two ChatDs working on one account cannot lose an update.
// Nothing here is secret to the operator: device public keys, sizes, times, no key or password.
import type { DeviceState } from '../protocol/chatd/handshake.ts';
import type { BucketSpec } from './rate-limit.ts';

export interface AccountRow {
  readonly id: number;
  readonly userId: string;
  readonly requireApproval: boolean;
}

export interface DeviceRow {
  readonly publicKey: Uint8Array;
  readonly state: DeviceState;
  readonly joinedAtMs: number;
  readonly lastNotification: number;
}

export interface JoinCodeRow {
  readonly codeHash: Uint8Array;
  readonly expiresAtMs: number;
  readonly triesLeft: number;
}

export interface BackupRow {
  readonly id: string;
  readonly size: number;
  readonly createdAtMs: number;
  readonly location: string;
}

/**
 * One entry of an account's blob index: the name a device uses, and the object of the account's
 * blob store that holds its bytes now. Each upload writes a new object (docs/CHATD.md "Blobs and
 * quota"), so a name moves from object to object and two uploads never share one.
 */
export interface BlobRow {
  readonly name: string;
  readonly object: string;
  readonly size: number;
  readonly modifiedMs: number;
}

/** What indexing a blob did: refused (over quota, nothing changed), or stored, with what it replaced. */
export type PutBlobResult =
  | { readonly stored: false }
  | { readonly stored: true; readonly replaced: BlobRow | undefined };

export interface NotificationRow {
  readonly id: number;
  readonly kind: number;
  readonly atMs: number;
  readonly subject: Uint8Array;
  readonly count: number;
}

/** How many notifications an account keeps for devices that were offline. */
export const NOTIFICATION_LOG = 100;

/** The account already has `max` devices; nothing was changed. */
export class AccountFullError extends Error {}

/** A join code's next value and what to answer, decided from its current value (may run again). */
export type JoinCodeUpdate<T> = (current: JoinCodeRow | undefined) => {
  readonly next: JoinCodeRow | undefined;
  readonly result: T;
};

/** Token buckets one store holds for every ChatD that shares it (docs/CHATD.md "Rate limits"). */
export interface SharedBuckets {
  take(key: string): Promise<number>;
}

export interface AccountStore {
  /**
   * True when several ChatDs share this store: they must then look in it for each other's
   * notifications (docs/CHATD.md "Notifications") instead of trusting their own memory.
   */
  readonly shared: boolean;
  close(): Promise<void>;
  /** A value kept across restarts (the join-code pepper), made by `create` on first use. */
  metaValue(key: string, create: () => Uint8Array): Promise<Uint8Array>;

  account(userId: string): Promise<AccountRow | undefined>;
  /**
   * Adds device `publicKey` to the account of `userId` (made if absent), pending when the account
   * asks for approval and already has an active device, else active; rejoining keeps the device's
   * place. Throws AccountFullError when the account has `maxDevices` others.
   */
  join(
    userId: string,
    publicKey: Uint8Array,
    nowMs: number,
    maxDevices: number,
  ): Promise<{ account: AccountRow; state: DeviceState }>;
  setRequireApproval(accountId: number, requireApproval: boolean): Promise<void>;
  devices(accountId: number): Promise<DeviceRow[]>;
  device(accountId: number, publicKey: Uint8Array): Promise<DeviceRow | undefined>;
  /**
   * Makes a pending device active, only if it is still pending and (with `joinedBeforeMs`) joined
   * before that time. Returns whether it did.
   */
  activate(accountId: number, publicKey: Uint8Array, joinedBeforeMs?: number): Promise<boolean>;
  removeDevice(accountId: number, publicKey: Uint8Array): Promise<boolean>;

  putJoinCode(userId: string, publicKey: Uint8Array, code: JoinCodeRow): Promise<void>;
  /** Reads the join code of (userId, device), replaces it by what `update` decides, atomically. */
  updateJoinCode<T>(userId: string, publicKey: Uint8Array, update: JoinCodeUpdate<T>): Promise<T>;

  backups(accountId: number): Promise<BackupRow[]>;
  /** Adds or replaces a backup entry; false (nothing changed) when it is new and `max` are listed. */
  putBackup(accountId: number, backup: BackupRow, max: number): Promise<boolean>;
  removeBackup(accountId: number, id: string): Promise<boolean>;

  blobs(accountId: number, prefix: string): Promise<BlobRow[]>;
  blob(accountId: number, name: string): Promise<BlobRow | undefined>;
  blobBytes(accountId: number): Promise<number>;
  /**
   * Points `blob.name` at its new object if the account's blobs then total at most `quotaBytes`
   * (the entry it replaces no longer counts), atomically; refused otherwise, nothing changed.
   */
  putBlob(accountId: number, blob: BlobRow, quotaBytes: number): Promise<PutBlobResult>;
  /** Removes the entry of `name` and returns it (its object is the caller's to delete). */
  removeBlob(accountId: number, name: string): Promise<BlobRow | undefined>;

  /** Appends a notification to the account's log (keeping the last NOTIFICATION_LOG) and returns it. */
  addNotification(accountId: number, n: Omit<NotificationRow, 'id'>): Promise<NotificationRow>;
  notificationsAfter(accountId: number, afterId: number): Promise<NotificationRow[]>;
  markNotified(accountId: number, publicKey: Uint8Array, id: number): Promise<void>;

  /**
   * Tells `handlers` of every notification logged by any ChatD of the store, as it is logged;
   * undefined when the store cannot (then the notifier polls, docs/CHATD.md "Notifications").
   */
  watchNotifications?(handlers: NotificationWatchHandlers): { close(): void };

  /** Buckets shared by every ChatD of the store, or undefined when each ChatD keeps its own. */
  sharedBuckets(name: string, spec: BucketSpec, now: () => number): SharedBuckets | undefined;

  /** Undefined when the store answers now, else why not, in fixed words (docs/OPERATIONS.md "Health and readiness"). */
  unready(): Promise<string | undefined>;
}

/** What a notification watch reports (see AccountStore.watchNotifications). */
export interface NotificationWatchHandlers {
  /** The watch is in place: every notification logged from now on is reported. */
  onCreated(): void;
  /** Account `accountId` logged notification `id`. */
  onNotified(accountId: number, id: number): void;
  /** The watch ended and reports nothing more; the caller may watch again. */
  onError(error: unknown): void;
}
