// The whole backup flow for one device through ChatD (docs/CHATD.md; docs/PROTOCOL.md §10 "Flows"): enable
// password or manual-key backup, back up (a snapshot in the repository in the device's store,
// docs/BACKUP.md "Repositories"), list, restore on this or a new device (a snapshot, or a
// single-stream backup made before repositories), status, change the password, disable. Used by the CLI (src/cli/commands/backup-device.ts) and the demo; K never
// leaves the device but wrapped inside the vault's sealed registration.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LockedError, NoRecordError, TamperingError, UsageError, WrongKeyError } from '../../errors.ts';
import { destroyStreamSecrets } from '../../format/derive.ts';
import { HEADER_LENGTH, Header } from '../../format/header.ts';
import { BackupKey } from '../../format/key.ts';
import type { BackupEntry } from '../../protocol/chatd/backups.ts';
import { type Notification, NotificationKind } from '../../protocol/chatd/notification.ts';
import { recordIdFor } from '../../protocol/chatd/record-id.ts';
import { BlobNotFoundError, type BlobStore } from '../../stores/blob/blob-store.ts';
import { CHATD_STORE, openBlobStore } from '../../stores/blob/open.ts';
import { onInterrupt } from '../../temporaries.ts';
import { BACKUP_SUFFIX } from '../backup/backups.ts';
import { ChatdBlobStore } from '../chatd/blob-store.ts';
import { ChatdClient } from '../chatd/client.ts';
import { ChatdQuotaError } from '../chatd/errors.ts';
import { ChatdRetentionAccount, registerSnapshot } from '../chatd/snapshot-entries.ts';
import { ChatdVaultTransport } from '../chatd/vault-transport.ts';
import { checkPasswordStrength } from '../password-strength.ts';
import { LOCK_PREFIX } from '../repository/lock.ts';
import { RepositoryBusyError } from '../repository/prune.ts';
import {
  CONFIG_NAME,
  INDEX_PREFIX,
  isSnapshotId,
  PACK_PREFIX,
  Repository,
  SNAPSHOT_PREFIX,
  type SnapshotInfo,
} from '../repository/repository.ts';
import {
  keepWithinQuota,
  measureUpload,
  type QuotaTooSmallError,
  type RetentionReport,
  UploadTracker,
} from '../repository/retention.ts';
import { withWriterLock } from '../repository/writer-lock.ts';
import { type Argon2idParameters, VaultClient, type VaultRecordStatus } from '../vault/client.ts';
import { type ProgressListener, restoreBackup } from './backup.ts';
import type { DeviceDir } from './chatd-device.ts';
import { openNodeSocket } from './chatd-socket.ts';
import type { ExtractSummary } from './extract.ts';
import { nodeCrypto } from './node-crypto.ts';
import {
  type CreatedSnapshot,
  createSnapshot,
  restoreSnapshot,
  type SnapshotOptions,
} from './repository-backup.ts';
import { zstdCompression } from './zstd-compression.ts';

/** Guesses a new record allows unless told otherwise (at most the fleet's limit). */
export const DEFAULT_GUESS_LIMIT = 10;

export interface SessionOptions {
  /** Argon2id for OPAQUE; every device of a user must use the same (tests pass small ones). */
  readonly argon2id?: Argon2idParameters;
  readonly s3Endpoint?: string;
}

/**
 * What a restore did: a snapshot's files and bytes, or a single-stream backup's extract summary
 * (entries left out, changed files: docs/BACKUP.md "Incomplete restores"); with a password, the
 * recovery.
 */
export type RestoreReport = RestoredContent & RestoredRecovery;

/** What was restored from which backup. */
type RestoredContent = { readonly id: string } & (
  | {
      readonly kind: 'snapshot';
      /** What was restored (all of the snapshot, or what `path` names): file entries and bytes of content. */
      readonly entries: number;
      readonly contentBytes: number;
      /** Escaped paths of the restored files that changed while they were backed up (RestoredSnapshot.changed). */
      readonly changed: readonly string[];
    }
  | ({ readonly kind: 'stream' } & ExtractSummary)
);

interface RestoredRecovery {
  /** Set when K came from the vault: what the recovery revealed (docs/CHATD.md "What a device is told"). */
  readonly recovery?: {
    /**
     * limit - guessesLeft: every wrong password since the password was last set. A success refunds
     * only its own guess, so this count does not restart at a successful restore.
     */
    readonly failedGuessesSincePasswordSet: number;
    /**
     * How many of those came since this device last set the password or restored with it;
     * undefined when it cannot tell (a new device, or the password was changed elsewhere).
     */
    readonly failedGuessesSinceThisDevice: number | undefined;
    readonly guessesLeft: number;
    readonly limit: number;
  };
}

/**
 * The vault record as the user should hear of it: `out of guesses` is an active record at zero
 * guesses, which no password opens any more and the vault locks at the next attempt
 * (docs/PROTOCOL.md section 9, step 4).
 */
export type DeviceRecordState = 'active' | 'out of guesses' | 'locked' | 'deleted';

/** An account event ChatD told this device of (docs/CHATD.md "Notifications"). */
export interface AccountEvent {
  readonly kind: NotificationKind;
  readonly at: Date;
  /** The device the event concerns (hex), when there is one. */
  readonly subjectDevice?: string;
  readonly count: number;
  /** True when the event changed this device: a disable elsewhere makes it forget K and stop. */
  readonly stoppedThisDevice: boolean;
}

export interface StatusReport {
  readonly user: string;
  readonly server: string;
  readonly mode: 'none' | 'password' | 'manual';
  readonly store: string;
  readonly vault?: {
    status: DeviceRecordState;
    limit: number;
    guessesLeft: number;
    /** Wrong passwords since the password was last set (limit - guessesLeft). */
    failedGuesses: number;
  };
  /** This device holds K (it may change the password, even at zero guesses). */
  readonly holdsKey: boolean;
  readonly noRecord?: boolean;
  readonly lastBackup?: { id: string; size: number; created: string };
  readonly tampering?: string;
}

/** A snapshot's entry in ChatD's list: its id has the snapshot form, not a single stream's. */
const isSnapshotEntry = (entry: BackupEntry) => isSnapshotId(entry.id);

/** Deletes a repository, snapshots first so that none is ever listed without its data. */
async function deleteRepository(store: BlobStore): Promise<void> {
  for (const prefix of [SNAPSHOT_PREFIX, INDEX_PREFIX, PACK_PREFIX, LOCK_PREFIX, CONFIG_NAME]) {
    for (const info of await store.list(prefix)) await store.delete(info.name);
  }
}

/**
 * A key recovered from the vault that does not open the backup means the backup was made under
 * another key (an older enable) or the record was replaced, not a typing mistake: said as such.
 */
function vaultKeyMismatch(error: unknown, what: string): unknown {
  if (!(error instanceof WrongKeyError)) return error;
  return new WrongKeyError(`the key recovered from the vault does not open ${what}`, {
    hints: ['the backup was made under another key (an older enable), or the vault record was replaced'],
  });
}

function recordState(summary: VaultRecordStatus): DeviceRecordState {
  if (summary.status !== 'active') return summary.status;
  return summary.guessesLeft === 0 ? 'out of guesses' : 'active';
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const isZero = (bytes: Uint8Array) => bytes.every((b) => b === 0);

/** A snapshot `DeviceSession.createBackup` stored and registered. */
export interface DeviceSnapshot extends CreatedSnapshot {
  /**
   * The room retention keeps for a next run like this one is short even with every older snapshot
   * forgotten (docs/BACKUP.md "Repositories in ChatD storage"): the error that says by how much
   * (`missingBytes`; 0 when the account's list of backups is full). Undefined when the room fits,
   * and in a store without a quota.
   */
  readonly roomShort: QuotaTooSmallError | undefined;
}

export class DeviceSession {
  private constructor(
    readonly device: DeviceDir,
    readonly client: ChatdClient,
    readonly vault: VaultClient,
    readonly recordId: Uint8Array,
    private readonly options: SessionOptions,
    /** Notifications as they arrive: those missed while offline come right after Welcome. */
    private readonly heard: Notification[],
  ) {}

  /** Connects to the device's server and authenticates it. */
  static async open(device: DeviceDir, options: SessionOptions = {}): Promise<DeviceSession> {
    const identity = device.identity();
    const client = await ChatdClient.connect({ url: device.server, identity, openSocket: openNodeSocket });
    const heard: Notification[] = [];
    client.onNotification((n) => heard.push(n));
    const fleet = device.fleet();
    const vault = new VaultClient({
      fleet,
      transport: new ChatdVaultTransport(client),
      memory: device.recordMemory(),
      argon2id: options.argon2id,
    });
    return new DeviceSession(
      device,
      client,
      vault,
      recordIdFor(fleet.fleetId, device.userId),
      options,
      heard,
    );
  }

  /**
   * What the account's other devices did while this one was away, oldest first. A disable
   * elsewhere deleted the record and the backups, so this device forgets K and stops backing up
   * rather than upload under a key no other device can recover. ChatD could forge such a notice,
   * but it could as well refuse every upload: the worst is denial of service, and K is still in the
   * vault or on the user's paper if the notice lied.
   */
  async catchUp(): Promise<AccountEvent[]> {
    // ChatD sends the missed notifications right after Welcome, so one round trip is behind them.
    await this.client.listBackups();
    const events: AccountEvent[] = [];
    for (const n of this.heard.splice(0)) {
      let stopped = false;
      if (n.kind === NotificationKind.backupDisabled && this.device.mode !== 'none') {
        await this.forgetBackup();
        stopped = true;
      }
      events.push({
        kind: n.kind,
        at: new Date(Number(n.atMs)),
        subjectDevice: isZero(n.subjectDevice) ? undefined : hex(n.subjectDevice),
        count: n.count,
        stoppedThisDevice: stopped,
      });
    }
    return events;
  }

  /** Ends backup on this device: K off its disk, no mode, no memory of the deleted record. */
  private async forgetBackup(): Promise<void> {
    this.device.forgetBackupKey();
    await this.device.recordMemory().forget(this.recordId);
    await this.device.update({ mode: 'none', lastBackup: undefined });
  }

  /** Refuses a password an offline search would find quickly (docs/SECURITY.md "Password strength"). */
  checkNewPassword(password: string): Promise<void> {
    return checkPasswordStrength(password, [this.device.userId, this.device.server]);
  }

  close(): void {
    this.client.close();
    this.client.identity.destroy();
  }

  private async openStore(spec: string): Promise<BlobStore> {
    return spec === CHATD_STORE
      ? new ChatdBlobStore(this.client)
      : openBlobStore(spec, { s3Endpoint: this.options.s3Endpoint });
  }

  private requireNoMode(): void {
    if (this.device.mode !== 'none') {
      throw new UsageError(`backup is already enabled on this device (${this.device.mode} mode)`, {
        hints: ['`backup password` changes the password; `backup disable` turns backup off'],
      });
    }
  }

  /** Password mode: makes K, registers it with the vault under `password`, keeps K on the device. */
  async enablePassword(
    password: string,
    options: { store?: string; limit?: number } = {},
  ): Promise<VaultRecordStatus> {
    this.requireNoMode();
    await this.checkNewPassword(password);
    const key = BackupKey.generate((n) => new Uint8Array(randomBytes(n)));
    try {
      const summary = await this.vault.enable(
        this.recordId,
        password,
        key.exposeBytes(),
        options.limit ?? DEFAULT_GUESS_LIMIT,
      );
      await this.device.saveBackupKey(key);
      await this.device.update({ mode: 'password', store: options.store ?? CHATD_STORE });
      await this.client.reportActivity(NotificationKind.backupEnabled);
      return summary;
    } finally {
      key.destroy();
    }
  }

  /** Manual mode: makes K and keeps it on the device; the caller shows it once. Never sent anywhere. */
  async enableManual(options: { store?: string } = {}): Promise<BackupKey> {
    this.requireNoMode();
    const key = BackupKey.generate((n) => new Uint8Array(randomBytes(n)));
    await this.device.saveBackupKey(key);
    await this.device.update({ mode: 'manual', store: options.store ?? CHATD_STORE });
    await this.client.reportActivity(NotificationKind.backupEnabled);
    return key;
  }

  private heldKey(): BackupKey {
    const key = this.device.backupKey();
    if (key === undefined) {
      throw new UsageError('backup is not enabled on this device', {
        hints: [
          '`backup enable` turns it on',
          'on a new device, `backup restore` with --password-stdin or --key-file recovers the key first',
        ],
      });
    }
    return key;
  }

  /**
   * Backs up `paths` as a new snapshot in the repository in the device's store, made on first use:
   * only content the repository lacks is uploaded, also after an interrupted run (docs/FORMAT.md
   * §12.8). The run holds a writer's lock (§12.15), so another device's prune waits for it. In
   * the account's storage behind ChatD, retention keeps the repository within the quota
   * (docs/BACKUP.md "Repositories in ChatD storage"): before each new try when the quota refused a
   * run, with room for what that run measures it uploads in all (QuotaTooSmallError at once, with
   * nothing forgotten, when forgetting cannot make that room), and after the snapshot, for a next
   * run like it. It tries again for as long as retention finds a snapshot to forget. `onMeasure`
   * is told before each measuring run and `onRetry` before each new try; onBytes and onReused count
   * the files of each from the start again.
   * A stored snapshot is a success: `roomShort` says when the room for a next run is short.
   */
  async createBackup(
    paths: readonly string[],
    options: Pick<SnapshotOptions, 'parent' | 'oneFileSystem' | 'onBytes' | 'onReused'> & {
      onMeasure?: () => void;
      onRetry?: (retention: RetentionReport) => void;
    } = {},
  ): Promise<DeviceSnapshot> {
    const key = this.heldKey();
    const store = await this.openStore(this.device.store);
    // Only ChatD's storage has a quota to keep within; the tracker names the packs a refused run left.
    const tracker = this.device.store === CHATD_STORE ? new UploadTracker(store) : undefined;
    const repository = await this.openRepository(key, true, tracker ?? store).finally(() => key.destroy());
    const owner = `${hostname()}:${process.pid}`;
    const account = new ChatdRetentionAccount(this.client);
    const { onMeasure, onRetry, ...snapshotOptions } = options;
    const run = () =>
      withWriterLock(
        repository,
        owner,
        (lock) => createSnapshot(repository, paths, { ...snapshotOptions, lock }),
        {
          whileHeld: onInterrupt,
        },
      );
    try {
      let snapshot: CreatedSnapshot | undefined;
      for (let refusals = 0; snapshot === undefined; ) {
        const mark = tracker?.mark();
        try {
          snapshot = await run();
        } catch (error) {
          if (tracker === undefined || mark === undefined || !(error instanceof ChatdQuotaError)) throw error;
          refusals++;
          const { packs, bytes } = tracker.abandonedSince(mark);
          // What the refused run had uploaded is no measure of what it needs: it stopped part way.
          // Run it again uploading nothing, to learn what it uploads in all, so that retention
          // forgets nothing when even forgetting every old snapshot cannot make that room, and
          // otherwise just enough (docs/BACKUP.md "Repositories in ChatD storage").
          onMeasure?.();
          const measure = (lock?: SnapshotOptions['lock']) =>
            measureUpload(repository, packs, (view) =>
              createSnapshot(view, paths, { ...snapshotOptions, lock }),
            );
          // Under a writer's lock like any run, so that another device's prune does not delete
          // what the measuring run reads (docs/FORMAT.md §12.15); without one when the full
          // account has no room even for the lock (a prune meanwhile can then only fail it).
          const measured = await withWriterLock(repository, owner, measure, { whileHeld: onInterrupt }).catch(
            (lockError: unknown) => {
              if (!(lockError instanceof ChatdQuotaError)) throw lockError;
              return measure();
            },
          );
          const retention = await keepWithinQuota(repository, account, {
            abandonedPacks: packs,
            roomBytes: Math.max(bytes, measured),
            owner,
          });
          // Past the first new try, each needs a snapshot forgotten before it, so the tries end:
          // at the latest, keepWithinQuota throws QuotaTooSmallError once only the newest is left.
          if (refusals > 1 && retention.forgotten.length === 0) throw error;
          onRetry?.(retention);
        }
      }
      await registerSnapshot(this.client, snapshot, this.device.store);
      await this.device.update({
        lastBackup: { id: snapshot.id, size: snapshot.size, created: snapshot.time },
      });
      let roomShort: QuotaTooSmallError | undefined;
      if (tracker !== undefined) {
        try {
          // With justMade, a room too short for a next run is returned, not thrown: the snapshot
          // is stored and registered (docs/BACKUP.md "Repositories in ChatD storage").
          roomShort = (await keepWithinQuota(repository, account, { justMade: snapshot.id, owner }))
            .roomShort;
        } catch (error) {
          // Another device is writing or pruning: the snapshot just made is safe, the next run prunes.
          if (!(error instanceof RepositoryBusyError)) throw error;
        }
      }
      return { ...snapshot, roomShort };
    } finally {
      repository.close();
    }
  }

  /** The repository in `location` (the device's store by default) under `key`; it keeps only keys derived from K. */
  private async openRepository(
    key: BackupKey,
    create: boolean,
    location: string | BlobStore = this.device.store,
  ): Promise<Repository> {
    const store = typeof location === 'string' ? await this.openStore(location) : location;
    const options = { compression: zstdCompression() }; // libzstd for new blobs (docs/FORMAT.md §12.10)
    return create
      ? Repository.openOrCreate(store, key, nodeCrypto, options)
      : Repository.open(store, key, nodeCrypto, options);
  }

  /**
   * The snapshots of the repository in the device's store, oldest first; undefined when this
   * device holds no key to read them with (a new device, before its first restore).
   */
  async listSnapshots(): Promise<SnapshotInfo[] | undefined> {
    if (!(await this.listBackups()).some((entry) => isSnapshotEntry(entry))) return [];
    const key = this.device.backupKey();
    if (key === undefined) return undefined;
    const repository = await this.openRepository(key, false).finally(() => key.destroy());
    try {
      return await repository.listSnapshots();
    } finally {
      repository.close();
    }
  }

  /** The account's backups as ChatD lists them: snapshots and older single-stream backups, oldest first. */
  listBackups(): Promise<readonly BackupEntry[]> {
    return this.client.listBackups();
  }

  private async findEntry(id?: string): Promise<BackupEntry> {
    const entries = await this.client.listBackups();
    const entry = id === undefined ? entries.at(-1) : entries.find((e) => e.id === id);
    if (entry === undefined) {
      throw new BlobNotFoundError(
        id === undefined ? 'the account has no backups' : `the account has no backup ${id}`,
        {
          hints: ['`backup list --device DIR` shows them'],
        },
      );
    }
    return entry;
  }

  /** Checks K against the backup's key-check value before anything is restored (docs/PROTOCOL.md §10, "The recovered key is checked"). */
  private async checkKey(store: BlobStore, id: string, key: BackupKey, fromVault: boolean): Promise<void> {
    const header = new Uint8Array(HEADER_LENGTH);
    let filled = 0;
    for await (const piece of store.get(`${id}${BACKUP_SUFFIX}`)) {
      const take = Math.min(piece.length, HEADER_LENGTH - filled);
      header.set(piece.subarray(0, take), filled);
      filled += take;
      if (filled === HEADER_LENGTH) break;
    }
    try {
      destroyStreamSecrets(await Header.deserialize(header.subarray(0, filled)).open(nodeCrypto, key));
    } catch (error) {
      throw fromVault ? vaultKeyMismatch(error, `backup ${id}`) : error;
    }
  }

  /**
   * Restores a snapshot or a single-stream backup (the latest of either unless `id`), or with
   * `path` one path inside a snapshot, into `to`. K comes from `password` (vault recovery, one
   * guess spent and refunded if right), from `key`, or from this device. Nothing is written to
   * `to` unless all it restores verifies.
   */
  async restore(options: {
    to: string;
    id?: string;
    /** Only this path inside the snapshot, matched byte for byte (RestoreSnapshotOptions.path). */
    path?: string | Uint8Array;
    password?: string;
    /** With `password`: the user changed it on another device since this one last used it. */
    passwordChangedElsewhere?: boolean;
    key?: BackupKey;
    force?: boolean;
    onProgress?: ProgressListener;
  }): Promise<RestoreReport> {
    // ChatD's list says what there is, and where, before a guess is spent.
    const entry = await this.findEntry(options.id);
    const snapshot = isSnapshotEntry(entry);
    if (!snapshot && options.path !== undefined) {
      throw new UsageError(`backup ${entry.id} is a single-stream backup: --path needs a snapshot`, {
        hints: ['a single-stream backup restores whole'],
      });
    }
    const { key, recovery } = await this.backupKeyFor(options);
    const fromVault = options.password !== undefined;
    try {
      const report = snapshot
        ? await this.restoreSnapshot(key, fromVault, entry, options)
        : await this.restoreStream(key, fromVault, entry, options);
      // This device now holds K and continues the account's backups where they were kept.
      if (this.device.backupKey() === undefined) {
        await this.device.saveBackupKey(key);
        await this.device.update({ mode: fromVault ? 'password' : 'manual', store: entry.location });
      }
      return { ...report, recovery };
    } finally {
      key.destroy();
    }
  }

  /** K for a restore: recovered from the vault with `password`, or given, or held by this device. */
  private async backupKeyFor(options: {
    password?: string;
    passwordChangedElsewhere?: boolean;
    key?: BackupKey;
  }): Promise<{ key: BackupKey; recovery?: RestoreReport['recovery'] }> {
    if (options.password === undefined) return { key: options.key ?? this.heldKey() };
    const remembered = await this.device.recordMemory().get(this.recordId);
    let recovered: Awaited<ReturnType<VaultClient['recover']>>;
    try {
      recovered = await this.vault.recover(this.recordId, options.password, {
        passwordChangedElsewhere: options.passwordChangedElsewhere ?? false,
      });
    } catch (error) {
      if (error instanceof LockedError)
        await this.client.reportActivity(NotificationKind.locked).catch(() => {});
      throw error;
    }
    // The device's own count is a baseline only for the incarnation it saw (docs/CHATD.md).
    const sameIncarnation = remembered !== undefined && !recovered.changedElsewhere;
    const recovery = {
      failedGuessesSincePasswordSet: recovered.failedGuessesSinceLastSuccess,
      failedGuessesSinceThisDevice: sameIncarnation
        ? Math.max(0, recovered.failedGuessesSinceLastSuccess - recovered.failedGuessesAtPreviousSuccess)
        : undefined,
      guessesLeft: recovered.guessesLeft,
      limit: recovered.limit,
    };
    await this.client.reportActivity(NotificationKind.recovered, recovered.failedGuessesSinceLastSuccess);
    return { key: recovered.key, recovery };
  }

  private async restoreSnapshot(
    key: BackupKey,
    fromVault: boolean,
    entry: BackupEntry,
    options: { to: string; path?: string | Uint8Array; force?: boolean; onProgress?: ProgressListener },
  ): Promise<RestoredContent> {
    let repository: Repository;
    try {
      repository = await this.openRepository(key, false, entry.location);
    } catch (error) {
      throw fromVault ? vaultKeyMismatch(error, `the repository in ${entry.location}`) : error;
    }
    try {
      const snapshot = await restoreSnapshot(repository, { ...options, id: entry.id });
      return {
        kind: 'snapshot',
        id: snapshot.id,
        entries: snapshot.restored.files,
        contentBytes: snapshot.restored.bytes,
        changed: snapshot.changed,
      };
    } finally {
      repository.close();
    }
  }

  private async restoreStream(
    key: BackupKey,
    fromVault: boolean,
    entry: BackupEntry,
    options: { to: string; force?: boolean; onProgress?: ProgressListener },
  ): Promise<RestoredContent> {
    const store = await this.openStore(entry.location);
    await this.checkKey(store, entry.id, key, fromVault);
    const result = await restoreBackup({
      key,
      store,
      id: entry.id,
      to: options.to,
      force: options.force,
      onProgress: options.onProgress,
    });
    return { kind: 'stream', ...result };
  }

  /** Mode, vault counters (advisory), last backup and any tampering warning. */
  async status(): Promise<StatusReport> {
    const base = {
      user: this.device.userId,
      server: this.device.server,
      mode: this.device.mode,
      store: this.device.store,
      holdsKey: this.device.holdsBackupKey(),
    };
    const last = (await this.client.listBackups()).at(-1);
    const lastBackup = last && {
      id: last.id,
      size: Number(last.size),
      created: new Date(Number(last.createdAtMs)).toISOString(),
    };
    if (this.device.mode === 'manual') return { ...base, lastBackup };
    try {
      const summary = await this.vault.status(this.recordId);
      return {
        ...base,
        lastBackup,
        vault: {
          status: recordState(summary),
          limit: summary.limit,
          guessesLeft: summary.guessesLeft,
          failedGuesses: summary.limit - summary.guessesLeft,
        },
      };
    } catch (error) {
      if (error instanceof TamperingError) return { ...base, lastBackup, tampering: error.message };
      if (error instanceof NoRecordError) return { ...base, lastBackup, noRecord: true };
      throw error;
    }
  }

  /** Changes the vault password; the device's K proves it may. */
  async changePassword(newPassword: string): Promise<VaultRecordStatus> {
    if (this.device.mode !== 'password')
      throw new UsageError('password backup is not enabled on this device');
    await this.checkNewPassword(newPassword);
    const key = this.heldKey();
    try {
      const summary = await this.vault.changePassword(this.recordId, key.exposeBytes(), newPassword);
      await this.client.reportActivity(NotificationKind.passwordChanged);
      return summary;
    } finally {
      key.destroy();
    }
  }

  /** Deletes the vault record (password mode) and every backup of the account, then forgets K. */
  async disable(): Promise<{ deletedBackups: number }> {
    const key = this.heldKey();
    try {
      if (this.device.mode === 'password') await this.vault.delete(this.recordId, key.exposeBytes());
    } catch (error) {
      // A locked record holds no key any more: there is nothing left to delete, and a later
      // `backup enable` may create a new record over it (docs/PROTOCOL.md section 11).
      if (!(error instanceof LockedError)) throw error;
    } finally {
      key.destroy();
    }
    let deleted = 0;
    const repositories = new Set<string>();
    for (const entry of await this.client.listBackups()) {
      const store = await this.openStore(entry.location);
      if (isSnapshotEntry(entry)) {
        if (!repositories.has(entry.location)) await deleteRepository(store);
        repositories.add(entry.location);
      } else {
        await store.delete(`${entry.id}${BACKUP_SUFFIX}`).catch((error: unknown) => {
          if (!(error instanceof BlobNotFoundError)) throw error;
        });
      }
      await this.client.removeBackup(entry.id);
      deleted++;
    }
    await this.forgetBackup();
    await this.client.reportActivity(NotificationKind.backupDisabled);
    return { deletedBackups: deleted };
  }
}
