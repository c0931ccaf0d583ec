// ChatD's own state in SQLite (docs/CHATD.md "State"), the embedded default account store: one
// ChatD, one file in its data dir. Every read-then-write is one SQLite transaction.
import Database from 'better-sqlite3';
import { DeviceState } from '../protocol/chatd/handshake.ts';
import {
  AccountFullError,
  type AccountRow,
  type AccountStore,
  type BackupRow,
  type BlobRow,
  type DeviceRow,
  type JoinCodeRow,
  type JoinCodeUpdate,
  NOTIFICATION_LOG,
  type NotificationRow,
  type PutBlobResult,
  type SharedBuckets,
} from './account-store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY, user_id TEXT NOT NULL UNIQUE, require_approval INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  account_id INTEGER NOT NULL REFERENCES accounts(id), public_key BLOB NOT NULL, state INTEGER NOT NULL,
  joined_at INTEGER NOT NULL, last_notification INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (account_id, public_key));
CREATE TABLE IF NOT EXISTS join_codes (
  user_id TEXT NOT NULL, public_key BLOB NOT NULL, code_hash BLOB NOT NULL, expires_at INTEGER NOT NULL,
  tries_left INTEGER NOT NULL, PRIMARY KEY (user_id, public_key));
CREATE TABLE IF NOT EXISTS backups (
  account_id INTEGER NOT NULL, id TEXT NOT NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL,
  location TEXT NOT NULL, PRIMARY KEY (account_id, id));
CREATE TABLE IF NOT EXISTS blobs (
  account_id INTEGER NOT NULL, name TEXT NOT NULL, object TEXT NOT NULL, size INTEGER NOT NULL,
  modified INTEGER NOT NULL, PRIMARY KEY (account_id, name));
CREATE TABLE IF NOT EXISTS notifications (
  account_id INTEGER NOT NULL, id INTEGER NOT NULL, kind INTEGER NOT NULL, at INTEGER NOT NULL,
  subject BLOB NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (account_id, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
`;

const bytes = (value: unknown): Uint8Array => new Uint8Array(value as Buffer);

interface BlobColumns {
  name: string;
  object: string;
  size: number;
  modified: number;
}

const blobRow = (r: BlobColumns): BlobRow => ({
  name: r.name,
  object: r.object,
  size: r.size,
  modifiedMs: r.modified,
});

/** Typed, synchronous access to ChatD's SQLite tables. */
class SqliteTables {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.#addBlobObjects();
  }

  /**
   * A database made before blob objects (docs/CHATD.md "Blobs and quota") has no `object` column:
   * each blob's bytes were kept under its own name, which is therefore its object.
   */
  #addBlobObjects(): void {
    const columns = this.db.prepare('PRAGMA table_info(blobs)').all() as Array<{ name: string }>;
    if (columns.some((c) => c.name === 'object')) return;
    this.db.exec(
      `ALTER TABLE blobs ADD COLUMN object TEXT NOT NULL DEFAULT ''; UPDATE blobs SET object = name;`,
    );
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction (joins and device decisions change several rows together). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  metaValue(key: string, create: () => Uint8Array): Uint8Array {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: Buffer }
      | undefined;
    if (row) return bytes(row.value);
    const value = create();
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(key, value);
    return value;
  }

  account(userId: string): AccountRow | undefined {
    const row = this.db
      .prepare('SELECT id, user_id, require_approval FROM accounts WHERE user_id = ?')
      .get(userId) as { id: number; user_id: string; require_approval: number } | undefined;
    return row && { id: row.id, userId: row.user_id, requireApproval: row.require_approval === 1 };
  }

  createAccount(userId: string, nowMs: number): AccountRow {
    this.db.prepare('INSERT INTO accounts (user_id, created_at) VALUES (?, ?)').run(userId, nowMs);
    return this.account(userId)!;
  }

  setRequireApproval(accountId: number, requireApproval: boolean): void {
    this.db
      .prepare('UPDATE accounts SET require_approval = ? WHERE id = ?')
      .run(requireApproval ? 1 : 0, accountId);
  }

  devices(accountId: number): DeviceRow[] {
    const rows = this.db
      .prepare(
        'SELECT public_key, state, joined_at, last_notification FROM devices WHERE account_id = ? ORDER BY joined_at, public_key',
      )
      .all(accountId) as Array<{
      public_key: Buffer;
      state: number;
      joined_at: number;
      last_notification: number;
    }>;
    return rows.map((r) => ({
      publicKey: bytes(r.public_key),
      state: r.state as DeviceState,
      joinedAtMs: r.joined_at,
      lastNotification: r.last_notification,
    }));
  }

  device(accountId: number, publicKey: Uint8Array): DeviceRow | undefined {
    return this.devices(accountId).find((d) => Buffer.from(d.publicKey).equals(publicKey));
  }

  putDevice(accountId: number, publicKey: Uint8Array, state: DeviceState, nowMs: number): void {
    this.db
      .prepare(
        `INSERT INTO devices (account_id, public_key, state, joined_at, last_notification)
         VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM notifications WHERE account_id = ?))
         ON CONFLICT (account_id, public_key) DO UPDATE SET state = excluded.state`,
      )
      .run(accountId, publicKey, state, nowMs, accountId);
  }

  removeDevice(accountId: number, publicKey: Uint8Array): boolean {
    return (
      this.db.prepare('DELETE FROM devices WHERE account_id = ? AND public_key = ?').run(accountId, publicKey)
        .changes > 0
    );
  }

  joinCode(userId: string, publicKey: Uint8Array): JoinCodeRow | undefined {
    const row = this.db
      .prepare(
        'SELECT code_hash, expires_at, tries_left FROM join_codes WHERE user_id = ? AND public_key = ?',
      )
      .get(userId, publicKey) as { code_hash: Buffer; expires_at: number; tries_left: number } | undefined;
    return row && { codeHash: bytes(row.code_hash), expiresAtMs: row.expires_at, triesLeft: row.tries_left };
  }

  putJoinCode(userId: string, publicKey: Uint8Array, code: JoinCodeRow): void {
    this.db
      .prepare(
        `INSERT INTO join_codes (user_id, public_key, code_hash, expires_at, tries_left) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id, public_key) DO UPDATE SET code_hash = excluded.code_hash,
           expires_at = excluded.expires_at, tries_left = excluded.tries_left`,
      )
      .run(userId, publicKey, code.codeHash, code.expiresAtMs, code.triesLeft);
  }

  setJoinCodeTries(userId: string, publicKey: Uint8Array, triesLeft: number): void {
    this.db
      .prepare('UPDATE join_codes SET tries_left = ? WHERE user_id = ? AND public_key = ?')
      .run(triesLeft, userId, publicKey);
  }

  deleteJoinCode(userId: string, publicKey: Uint8Array): void {
    this.db.prepare('DELETE FROM join_codes WHERE user_id = ? AND public_key = ?').run(userId, publicKey);
  }

  backups(accountId: number): BackupRow[] {
    const rows = this.db
      .prepare(
        'SELECT id, size, created_at, location FROM backups WHERE account_id = ? ORDER BY created_at, id',
      )
      .all(accountId) as Array<{ id: string; size: number; created_at: number; location: string }>;
    return rows.map((r) => ({ id: r.id, size: r.size, createdAtMs: r.created_at, location: r.location }));
  }

  backupCount(accountId: number): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM backups WHERE account_id = ?').get(accountId) as {
        n: number;
      }
    ).n;
  }

  putBackup(accountId: number, backup: BackupRow): void {
    this.db
      .prepare(
        `INSERT INTO backups (account_id, id, size, created_at, location) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, id) DO UPDATE SET size = excluded.size, created_at = excluded.created_at,
           location = excluded.location`,
      )
      .run(accountId, backup.id, backup.size, backup.createdAtMs, backup.location);
  }

  removeBackup(accountId: number, id: string): boolean {
    return (
      this.db.prepare('DELETE FROM backups WHERE account_id = ? AND id = ?').run(accountId, id).changes > 0
    );
  }

  blobs(accountId: number, prefix: string): BlobRow[] {
    const rows = this.db
      .prepare(
        'SELECT name, object, size, modified FROM blobs WHERE account_id = ? AND substr(name, 1, ?) = ? ORDER BY name',
      )
      .all(accountId, prefix.length, prefix) as BlobColumns[];
    return rows.map(blobRow);
  }

  blob(accountId: number, name: string): BlobRow | undefined {
    const row = this.db
      .prepare('SELECT name, object, size, modified FROM blobs WHERE account_id = ? AND name = ?')
      .get(accountId, name) as BlobColumns | undefined;
    return row && blobRow(row);
  }

  blobBytes(accountId: number): number {
    return (
      this.db
        .prepare('SELECT COALESCE(SUM(size), 0) AS n FROM blobs WHERE account_id = ?')
        .get(accountId) as { n: number }
    ).n;
  }

  putBlob(accountId: number, blob: BlobRow): void {
    this.db
      .prepare(
        `INSERT INTO blobs (account_id, name, object, size, modified) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, name) DO UPDATE SET object = excluded.object, size = excluded.size,
           modified = excluded.modified`,
      )
      .run(accountId, blob.name, blob.object, blob.size, blob.modifiedMs);
  }

  removeBlob(accountId: number, name: string): void {
    this.db.prepare('DELETE FROM blobs WHERE account_id = ? AND name = ?').run(accountId, name);
  }

  addNotification(accountId: number, n: Omit<NotificationRow, 'id'>): NotificationRow {
    const next = (
      this.db
        .prepare('SELECT COALESCE(MAX(id), 0) + 1 AS id FROM notifications WHERE account_id = ?')
        .get(accountId) as {
        id: number;
      }
    ).id;
    this.db
      .prepare(
        'INSERT INTO notifications (account_id, id, kind, at, subject, count) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(accountId, next, n.kind, n.atMs, n.subject, n.count);
    this.db
      .prepare('DELETE FROM notifications WHERE account_id = ? AND id <= ?')
      .run(accountId, next - NOTIFICATION_LOG);
    return { id: next, ...n };
  }

  notificationsAfter(accountId: number, afterId: number): NotificationRow[] {
    const rows = this.db
      .prepare(
        'SELECT id, kind, at, subject, count FROM notifications WHERE account_id = ? AND id > ? ORDER BY id',
      )
      .all(accountId, afterId) as Array<{
      id: number;
      kind: number;
      at: number;
      subject: Buffer;
      count: number;
    }>;
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      atMs: r.at,
      subject: bytes(r.subject),
      count: r.count,
    }));
  }

  markNotified(accountId: number, publicKey: Uint8Array, id: number): void {
    this.db
      .prepare(
        'UPDATE devices SET last_notification = MAX(last_notification, ?) WHERE account_id = ? AND public_key = ?',
      )
      .run(id, accountId, publicKey);
  }
}

/** The embedded account store: one ChatD's SQLite file (docs/CHATD.md "State"). */
export class SqliteAccountStore implements AccountStore {
  readonly shared = false;
  readonly #tables: SqliteTables;

  constructor(path: string) {
    this.#tables = new SqliteTables(path);
  }

  async close(): Promise<void> {
    this.#tables.close();
  }

  async metaValue(key: string, create: () => Uint8Array): Promise<Uint8Array> {
    return this.#tables.metaValue(key, create);
  }

  async account(userId: string): Promise<AccountRow | undefined> {
    return this.#tables.account(userId);
  }

  async join(
    userId: string,
    publicKey: Uint8Array,
    nowMs: number,
    maxDevices: number,
  ): Promise<{ account: AccountRow; state: DeviceState }> {
    const t = this.#tables;
    return t.transaction(() => {
      const account = t.account(userId) ?? t.createAccount(userId, nowMs);
      const devices = t.devices(account.id);
      if (devices.length >= maxDevices) throw new AccountFullError(`the account has ${maxDevices} devices`);
      const hasActive = devices.some((d) => d.state === DeviceState.active);
      const state = account.requireApproval && hasActive ? DeviceState.pending : DeviceState.active;
      t.putDevice(account.id, publicKey, state, nowMs);
      return { account, state };
    });
  }

  async setRequireApproval(accountId: number, requireApproval: boolean): Promise<void> {
    this.#tables.setRequireApproval(accountId, requireApproval);
  }

  async devices(accountId: number): Promise<DeviceRow[]> {
    return this.#tables.devices(accountId);
  }

  async device(accountId: number, publicKey: Uint8Array): Promise<DeviceRow | undefined> {
    return this.#tables.device(accountId, publicKey);
  }

  async activate(accountId: number, publicKey: Uint8Array, joinedBeforeMs?: number): Promise<boolean> {
    const t = this.#tables;
    return t.transaction(() => {
      const device = t.device(accountId, publicKey);
      if (device?.state !== DeviceState.pending) return false;
      if (joinedBeforeMs !== undefined && device.joinedAtMs > joinedBeforeMs) return false;
      t.putDevice(accountId, publicKey, DeviceState.active, device.joinedAtMs);
      return true;
    });
  }

  async removeDevice(accountId: number, publicKey: Uint8Array): Promise<boolean> {
    return this.#tables.removeDevice(accountId, publicKey);
  }

  async putJoinCode(userId: string, publicKey: Uint8Array, code: JoinCodeRow): Promise<void> {
    this.#tables.putJoinCode(userId, publicKey, code);
  }

  async updateJoinCode<T>(userId: string, publicKey: Uint8Array, update: JoinCodeUpdate<T>): Promise<T> {
    const t = this.#tables;
    return t.transaction(() => {
      const current = t.joinCode(userId, publicKey);
      const { next, result } = update(current);
      if (next === undefined) {
        if (current !== undefined) t.deleteJoinCode(userId, publicKey);
      } else {
        t.putJoinCode(userId, publicKey, next);
      }
      return result;
    });
  }

  async backups(accountId: number): Promise<BackupRow[]> {
    return this.#tables.backups(accountId);
  }

  async putBackup(accountId: number, backup: BackupRow, max: number): Promise<boolean> {
    const t = this.#tables;
    return t.transaction(() => {
      const exists = t.backups(accountId).some((b) => b.id === backup.id);
      if (!exists && t.backupCount(accountId) >= max) return false;
      t.putBackup(accountId, backup);
      return true;
    });
  }

  async removeBackup(accountId: number, id: string): Promise<boolean> {
    return this.#tables.removeBackup(accountId, id);
  }

  async blobs(accountId: number, prefix: string): Promise<BlobRow[]> {
    return this.#tables.blobs(accountId, prefix);
  }

  async blob(accountId: number, name: string): Promise<BlobRow | undefined> {
    return this.#tables.blob(accountId, name);
  }

  async blobBytes(accountId: number): Promise<number> {
    return this.#tables.blobBytes(accountId);
  }

  async putBlob(accountId: number, blob: BlobRow, quotaBytes: number): Promise<PutBlobResult> {
    const t = this.#tables;
    return t.transaction(() => {
      const replaced = t.blob(accountId, blob.name);
      if (t.blobBytes(accountId) - (replaced?.size ?? 0) + blob.size > quotaBytes) return { stored: false };
      t.putBlob(accountId, blob);
      return { stored: true, replaced };
    });
  }

  async removeBlob(accountId: number, name: string): Promise<BlobRow | undefined> {
    const t = this.#tables;
    return t.transaction(() => {
      const removed = t.blob(accountId, name);
      if (removed !== undefined) t.removeBlob(accountId, name);
      return removed;
    });
  }

  async addNotification(accountId: number, n: Omit<NotificationRow, 'id'>): Promise<NotificationRow> {
    const t = this.#tables;
    return t.transaction(() => t.addNotification(accountId, n));
  }

  async notificationsAfter(accountId: number, afterId: number): Promise<NotificationRow[]> {
    return this.#tables.notificationsAfter(accountId, afterId);
  }

  async markNotified(accountId: number, publicKey: Uint8Array, id: number): Promise<void> {
    this.#tables.markNotified(accountId, publicKey, id);
  }

  /** One ChatD: its in-process buckets are the whole truth. */
  sharedBuckets(): SharedBuckets | undefined {
    return undefined;
  }

  /** A file of this process: it answers whenever the process does. */
  async unready(): Promise<string | undefined> {
    return undefined;
  }
}
