// ChatD's account store in etcd, shared by every ChatD of a multi-region deployment (docs/CHATD.md
// "ChatD across regions"). One key per account holds the whole account (devices, settings, backup
// list, blob index, notification log) as JSON, so every change to an account is one
// compare-and-swap on that key's mod revision: two ChatDs changing one account at once (two joins,
// an approval racing a join) serialise, and the loser re-reads and tries again, a bounded number
// of times. A user id maps to its account number through a second key, written in the same
// transaction that makes the account. Join codes and rate-limit buckets live under etcd leases
// that expire with them, so the store does not grow with every user ever limited; each new
// notification also bumps a small `notify/ID` key that every ChatD watches (docs/CHATD.md
// "ChatD across regions"). Any etcd failure is an UnavailableError: ChatD answers
// "unavailable", and nothing was changed unless etcd says so.
import { createHash } from 'node:crypto';
import { messageOf, UnavailableError } from '../errors.ts';
import { DeviceState } from '../protocol/chatd/handshake.ts';
import { type EtcdCallError, EtcdGrpcClient } from '../stores/record/etcd-grpc.ts';
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
  type NotificationWatchHandlers,
  type PutBlobResult,
  type SharedBuckets,
} from './account-store.ts';
import type { BucketSpec } from './rate-limit.ts';

export interface EtcdAccountStoreOptions {
  /** Client endpoints, `host:port`. */
  readonly hosts: readonly string[];
  /** Key prefix of this deployment's ChatD state. */
  readonly prefix?: string;
  /** Bound on each etcd call, in milliseconds. */
  readonly callTimeoutMs?: number;
}

const DEFAULT_PREFIX = 'strongroom/chatd/';
/**
 * Compare-and-swap attempts per change before giving up with "unavailable": each loss means
 * another ChatD changed the same key in between, so this many in a row is a storm, not bad luck.
 */
const CAS_ATTEMPTS = 32;
/**
 * Keys that expire close together share one lease: a key that must live `ttl` gets a lease ending
 * within about ttl / LEASE_SLOTS after that (at least a second), so a ChatD grants a lease per
 * slot, not per write.
 */
const LEASE_SLOTS = 10;

interface DeviceDoc {
  publicKey: string;
  state: DeviceState;
  joinedAtMs: number;
  lastNotification: number;
}

interface NotificationDoc {
  id: number;
  kind: number;
  atMs: number;
  subject: string;
  count: number;
}

/** One account, as stored under `accounts/ID`. */
interface AccountDoc {
  userId: string;
  requireApproval: boolean;
  createdAtMs: number;
  devices: DeviceDoc[];
  backups: BackupRow[];
  blobs: BlobRow[];
  notifications: NotificationDoc[];
  lastNotification: number;
}

interface JoinCodeDoc {
  codeHash: string;
  expiresAtMs: number;
  triesLeft: number;
}

interface BucketDoc {
  tokens: number;
  updatedMs: number;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const unhex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const encode = (doc: unknown) => Buffer.from(JSON.stringify(doc));
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function deviceRow(d: DeviceDoc): DeviceRow {
  return {
    publicKey: unhex(d.publicKey),
    state: d.state,
    joinedAtMs: d.joinedAtMs,
    lastNotification: d.lastNotification,
  };
}

/**
 * A change to one key: the next value (undefined deletes it, `unchanged` writes nothing) and a
 * result; with `ttlMs` the new value is deleted by etcd after about that long; `alsoPut` are
 * other keys written in the same transaction.
 */
type Change<D, T> = {
  next: D | undefined | 'unchanged';
  result: T;
  ttlMs?: number;
  alsoPut?: ReadonlyArray<{ key: Buffer; value: Buffer }>;
};

export class EtcdAccountStore implements AccountStore {
  readonly shared = true;
  readonly #client: EtcdGrpcClient;
  readonly #prefix: string;
  readonly #hosts: readonly string[];
  /** Leases by the time they end, shared by the keys that may end then (see LEASE_SLOTS). */
  readonly #leases = new Map<number, Promise<bigint>>();

  constructor(options: EtcdAccountStoreOptions) {
    if (options.hosts.length === 0) throw new UnavailableError('no etcd endpoints given');
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#hosts = options.hosts;
    this.#client = new EtcdGrpcClient(options.hosts, { callTimeoutMs: options.callTimeoutMs ?? 1000 });
  }

  async close(): Promise<void> {
    this.#client.close();
  }

  #key(...parts: string[]): Buffer {
    return Buffer.from(this.#prefix + parts.join('/'));
  }

  /** User ids are hashed into keys: any string is a valid id, and keys stay short. */
  #userKey(userId: string): string {
    return createHash('sha256').update(userId).digest('hex');
  }

  /** Runs `run` against etcd, turning every failure of the cluster into UnavailableError. */
  async #guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof AccountFullError || error instanceof UnavailableError) throw error;
      throw new UnavailableError(
        `etcd account store ${what} failed (${this.#hosts.join(',')}): ${messageOf(error)}`,
        {
          cause: error,
          hints: ['the etcd cluster may have lost its quorum or be unreachable; nothing was changed'],
        },
      );
    }
  }

  async #read<D>(key: Buffer): Promise<{ doc: D | undefined; revision: bigint | undefined }> {
    const kv = (await this.#client.range(key))[0];
    if (kv === undefined) return { doc: undefined, revision: undefined };
    return { doc: JSON.parse(Buffer.from(kv.value).toString('utf8')) as D, revision: kv.modRevision };
  }

  /** Read, decide, compare-and-swap on the key's mod revision; again on a lost race (bounded). */
  async #change<D, T>(
    what: string,
    key: Buffer,
    decide: (current: D | undefined) => Change<D, T>,
  ): Promise<T> {
    return this.#guard(what, async () => {
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const { doc, revision } = await this.#read<D>(key);
        const { next, result, ttlMs, alsoPut = [] } = decide(doc);
        if (next === 'unchanged') return result;
        const lease = next === undefined || ttlMs === undefined ? undefined : this.#leaseFor(ttlMs);
        const applied = await this.#client
          .txn({
            compares: [{ key, modRevision: revision }],
            puts: [
              ...(next === undefined ? [] : [{ key, value: encode(next), lease: await lease?.id }]),
              ...alsoPut,
            ],
            deletes: next === undefined ? [key] : [],
          })
          .catch((error: unknown) => {
            // The lease may be what failed (etcd lost it): the next change asks for a new one.
            if (lease !== undefined) this.#leases.delete(lease.endsAtMs);
            throw error;
          });
        if (applied) return result;
      }
      throw new UnavailableError(`etcd account store ${what}: too many concurrent changes, try again`);
    });
  }

  /**
   * A lease that outlives `ttlMs` from now by at most about ttlMs / LEASE_SLOTS: the one already
   * granted for that slot, or a new one. A lease whose grant failed is forgotten at once.
   */
  #leaseFor(ttlMs: number): { endsAtMs: number; id: Promise<bigint> } {
    const now = Date.now();
    for (const end of this.#leases.keys()) if (end <= now) this.#leases.delete(end);
    const slotMs = Math.max(1000, Math.ceil(ttlMs / LEASE_SLOTS));
    const endsAtMs = Math.ceil((now + Math.max(ttlMs, 1)) / slotMs) * slotMs;
    let id = this.#leases.get(endsAtMs);
    if (id === undefined) {
      id = this.#client.grantLease(Math.ceil((endsAtMs - now) / 1000));
      this.#leases.set(endsAtMs, id);
      id.catch(() => this.#leases.delete(endsAtMs));
    }
    return { endsAtMs, id };
  }

  /** Changes the account `accountId`; absent accounts are a programming error (ids come from the store). */
  #changeAccount<T>(what: string, accountId: number, decide: (doc: AccountDoc) => Change<AccountDoc, T>) {
    return this.#change<AccountDoc, T>(what, this.#key('accounts', String(accountId)), (doc) => {
      if (doc === undefined) throw new UnavailableError(`account ${accountId} is missing from the store`);
      return decide(doc);
    });
  }

  async #accountDoc(accountId: number): Promise<AccountDoc> {
    const { doc } = await this.#guard('read', () =>
      this.#read<AccountDoc>(this.#key('accounts', String(accountId))),
    );
    if (doc === undefined) throw new UnavailableError(`account ${accountId} is missing from the store`);
    return doc;
  }

  async metaValue(key: string, create: () => Uint8Array): Promise<Uint8Array> {
    const metaKey = this.#key('meta', key);
    return this.#guard('meta', async () => {
      // Whoever creates it first wins; everyone then uses the stored value.
      await this.#client.putIf(metaKey, undefined, create());
      const kv = (await this.#client.range(metaKey))[0];
      if (kv === undefined) throw new UnavailableError(`meta value ${key} vanished`);
      return new Uint8Array(kv.value);
    });
  }

  async account(userId: string): Promise<AccountRow | undefined> {
    return this.#guard('read', async () => {
      const id = (await this.#read<number>(this.#key('users', this.#userKey(userId)))).doc;
      if (id === undefined) return undefined;
      const doc = await this.#accountDoc(id);
      return { id, userId: doc.userId, requireApproval: doc.requireApproval };
    });
  }

  /** The account of `userId`, made if absent: number from a counter, both keys in one transaction. */
  async #accountId(userId: string, nowMs: number): Promise<number> {
    const userKey = this.#key('users', this.#userKey(userId));
    const counterKey = this.#key('next-account');
    return this.#guard('create account', async () => {
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const existing = (await this.#read<number>(userKey)).doc;
        if (existing !== undefined) return existing;
        const counter = await this.#read<number>(counterKey);
        const id = (counter.doc ?? 0) + 1;
        const doc: AccountDoc = {
          userId,
          requireApproval: false,
          createdAtMs: nowMs,
          devices: [],
          backups: [],
          blobs: [],
          notifications: [],
          lastNotification: 0,
        };
        const applied = await this.#client.txn({
          compares: [
            { key: userKey, modRevision: undefined },
            { key: counterKey, modRevision: counter.revision },
          ],
          puts: [
            { key: counterKey, value: encode(id) },
            { key: userKey, value: encode(id) },
            { key: this.#key('accounts', String(id)), value: encode(doc) },
          ],
          deletes: [],
        });
        if (applied) return id;
      }
      throw new UnavailableError('etcd account store: too many concurrent account creations, try again');
    });
  }

  async join(
    userId: string,
    publicKey: Uint8Array,
    nowMs: number,
    maxDevices: number,
  ): Promise<{ account: AccountRow; state: DeviceState }> {
    const id = await this.#accountId(userId, nowMs);
    const key = hex(publicKey);
    return this.#changeAccount('join', id, (doc) => {
      const others = doc.devices.filter((d) => d.publicKey !== key);
      const own = doc.devices.find((d) => d.publicKey === key);
      if (own === undefined && doc.devices.length >= maxDevices)
        throw new AccountFullError(`the account has ${maxDevices} devices`);
      const hasActive = doc.devices.some((d) => d.state === DeviceState.active);
      const state = doc.requireApproval && hasActive ? DeviceState.pending : DeviceState.active;
      // As in SQLite: a rejoining device keeps its join time and notification mark, takes the new state.
      const device: DeviceDoc = own
        ? { ...own, state }
        : { publicKey: key, state, joinedAtMs: nowMs, lastNotification: doc.lastNotification };
      const devices = [...others, device].sort(
        (a, b) => a.joinedAtMs - b.joinedAtMs || (a.publicKey < b.publicKey ? -1 : 1),
      );
      return {
        next: { ...doc, devices },
        result: { account: { id, userId: doc.userId, requireApproval: doc.requireApproval }, state },
      };
    });
  }

  async setRequireApproval(accountId: number, requireApproval: boolean): Promise<void> {
    await this.#changeAccount('set approval', accountId, (doc) => ({
      next: { ...doc, requireApproval },
      result: undefined,
    }));
  }

  async devices(accountId: number): Promise<DeviceRow[]> {
    return (await this.#accountDoc(accountId)).devices.map(deviceRow);
  }

  async device(accountId: number, publicKey: Uint8Array): Promise<DeviceRow | undefined> {
    const key = hex(publicKey);
    const found = (await this.#accountDoc(accountId)).devices.find((d) => d.publicKey === key);
    return found && deviceRow(found);
  }

  async activate(accountId: number, publicKey: Uint8Array, joinedBeforeMs?: number): Promise<boolean> {
    const key = hex(publicKey);
    return this.#changeAccount('activate device', accountId, (doc) => {
      const device = doc.devices.find((d) => d.publicKey === key);
      if (device?.state !== DeviceState.pending) return { next: 'unchanged', result: false };
      if (joinedBeforeMs !== undefined && device.joinedAtMs > joinedBeforeMs)
        return { next: 'unchanged', result: false };
      const devices = doc.devices.map((d) => (d === device ? { ...d, state: DeviceState.active } : d));
      return { next: { ...doc, devices }, result: true };
    });
  }

  async removeDevice(accountId: number, publicKey: Uint8Array): Promise<boolean> {
    const key = hex(publicKey);
    return this.#changeAccount('remove device', accountId, (doc) => {
      const devices = doc.devices.filter((d) => d.publicKey !== key);
      if (devices.length === doc.devices.length) return { next: 'unchanged', result: false };
      return { next: { ...doc, devices }, result: true };
    });
  }

  #joinCodeKey(userId: string, publicKey: Uint8Array): Buffer {
    return this.#key('join-codes', this.#userKey(userId), hex(publicKey));
  }

  async putJoinCode(userId: string, publicKey: Uint8Array, code: JoinCodeRow): Promise<void> {
    await this.updateJoinCode(userId, publicKey, () => ({ next: code, result: undefined }));
  }

  async updateJoinCode<T>(userId: string, publicKey: Uint8Array, update: JoinCodeUpdate<T>): Promise<T> {
    return this.#change<JoinCodeDoc, T>('join code', this.#joinCodeKey(userId, publicKey), (doc) => {
      const current = doc && {
        codeHash: unhex(doc.codeHash),
        expiresAtMs: doc.expiresAtMs,
        triesLeft: doc.triesLeft,
      };
      const { next, result } = update(current);
      if (next === undefined && doc === undefined) return { next: 'unchanged', result };
      return {
        next: next && {
          codeHash: hex(next.codeHash),
          expiresAtMs: next.expiresAtMs,
          triesLeft: next.triesLeft,
        },
        result,
        // An expired code is refused by JoinCodes whether or not etcd has deleted it yet; the
        // lease only keeps codes nobody submitted from piling up.
        ttlMs: next && next.expiresAtMs - Date.now(),
      };
    });
  }

  async backups(accountId: number): Promise<BackupRow[]> {
    return (await this.#accountDoc(accountId)).backups;
  }

  async putBackup(accountId: number, backup: BackupRow, max: number): Promise<boolean> {
    return this.#changeAccount('add backup', accountId, (doc) => {
      const others = doc.backups.filter((b) => b.id !== backup.id);
      if (others.length === doc.backups.length && doc.backups.length >= max)
        return { next: 'unchanged', result: false };
      const backups = [...others, { ...backup }].sort(
        (a, b) => a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      );
      return { next: { ...doc, backups }, result: true };
    });
  }

  async removeBackup(accountId: number, id: string): Promise<boolean> {
    return this.#changeAccount('remove backup', accountId, (doc) => {
      const backups = doc.backups.filter((b) => b.id !== id);
      if (backups.length === doc.backups.length) return { next: 'unchanged', result: false };
      return { next: { ...doc, backups }, result: true };
    });
  }

  async blobs(accountId: number, prefix: string): Promise<BlobRow[]> {
    return (await this.#accountDoc(accountId)).blobs.filter((b) => b.name.startsWith(prefix));
  }

  async blob(accountId: number, name: string): Promise<BlobRow | undefined> {
    return (await this.#accountDoc(accountId)).blobs.find((b) => b.name === name);
  }

  async blobBytes(accountId: number): Promise<number> {
    return (await this.#accountDoc(accountId)).blobs.reduce((sum, b) => sum + b.size, 0);
  }

  async putBlob(accountId: number, blob: BlobRow, quotaBytes: number): Promise<PutBlobResult> {
    return this.#changeAccount<PutBlobResult>('index blob', accountId, (doc) => {
      const others = doc.blobs.filter((b) => b.name !== blob.name);
      if (others.reduce((sum, b) => sum + b.size, 0) + blob.size > quotaBytes)
        return { next: 'unchanged', result: { stored: false } };
      return {
        next: { ...doc, blobs: [...others, { ...blob }].sort(byName) },
        result: { stored: true, replaced: doc.blobs.find((b) => b.name === blob.name) },
      };
    });
  }

  async removeBlob(accountId: number, name: string): Promise<BlobRow | undefined> {
    return this.#changeAccount('remove blob', accountId, (doc) => {
      const removed = doc.blobs.find((b) => b.name === name);
      if (removed === undefined) return { next: 'unchanged', result: undefined };
      return { next: { ...doc, blobs: doc.blobs.filter((b) => b !== removed) }, result: removed };
    });
  }

  async addNotification(accountId: number, n: Omit<NotificationRow, 'id'>): Promise<NotificationRow> {
    return this.#changeAccount('notify', accountId, (doc) => {
      const id = doc.lastNotification + 1;
      const entry: NotificationDoc = {
        id,
        kind: n.kind,
        atMs: n.atMs,
        subject: hex(n.subject),
        count: n.count,
      };
      const notifications = [...doc.notifications, entry].filter((e) => e.id > id - NOTIFICATION_LOG);
      return {
        next: { ...doc, notifications, lastNotification: id },
        result: { id, ...n },
        alsoPut: [{ key: this.#key('notify', String(accountId)), value: encode(id) }],
      };
    });
  }

  /** One watch on every `notify/ID` key of the deployment: each put is one new notification. */
  watchNotifications(handlers: NotificationWatchHandlers): { close(): void } {
    const start = this.#key('notify', '');
    // The first key after every key that starts with `notify/`.
    const end = Buffer.concat([start.subarray(0, -1), Buffer.from([start.at(-1)! + 1])]);
    return this.#client.watch(start, end, {
      onCreated: handlers.onCreated,
      onPut: (kv) => {
        const accountId = Number(Buffer.from(kv.key).subarray(start.length).toString('utf8'));
        const id = Number(Buffer.from(kv.value).toString('utf8'));
        if (Number.isSafeInteger(accountId) && Number.isSafeInteger(id)) handlers.onNotified(accountId, id);
      },
      onError: (error: EtcdCallError) => handlers.onError(error),
    });
  }

  async unready(): Promise<string | undefined> {
    try {
      // A linearizable read: it succeeds only while the cluster has a quorum.
      await this.#client.range(this.#key('meta', 'join-code-pepper'), { keysOnly: true });
      return undefined;
    } catch {
      return 'the account store (etcd) is unreachable or has no quorum';
    }
  }

  async notificationsAfter(accountId: number, afterId: number): Promise<NotificationRow[]> {
    return (await this.#accountDoc(accountId)).notifications
      .filter((e) => e.id > afterId)
      .map((e) => ({ id: e.id, kind: e.kind, atMs: e.atMs, subject: unhex(e.subject), count: e.count }));
  }

  async markNotified(accountId: number, publicKey: Uint8Array, id: number): Promise<void> {
    const key = hex(publicKey);
    await this.#changeAccount('mark notified', accountId, (doc) => {
      const device = doc.devices.find((d) => d.publicKey === key);
      if (device === undefined || device.lastNotification >= id)
        return { next: 'unchanged', result: undefined };
      const devices = doc.devices.map((d) => (d === device ? { ...d, lastNotification: id } : d));
      return { next: { ...doc, devices }, result: undefined };
    });
  }

  /**
   * Token buckets in etcd, one key per (limit, key), changed by compare-and-swap: every ChatD of
   * the deployment takes from the same bucket, so the limit holds across regions exactly, up to
   * the clock difference between ChatDs (docs/CHATD.md "Rate limits"). One key per account or
   * user limited within the time its bucket takes to refill, a few dozen bytes each.
   */
  sharedBuckets(name: string, spec: BucketSpec, now: () => number): SharedBuckets {
    return {
      take: (key) =>
        this.#change<BucketDoc, number>(
          'rate limit',
          this.#key('buckets', name, hex(Buffer.from(key))),
          (doc) => {
            const nowMs = now();
            const tokens = Math.min(
              spec.capacity,
              doc === undefined
                ? spec.capacity
                : doc.tokens + ((nowMs - doc.updatedMs) / 1000) * spec.perSecond,
            );
            if (tokens < 1)
              return { next: 'unchanged', result: Math.ceil(((1 - tokens) / spec.perSecond) * 1000) };
            // Once full again the bucket is the same as no bucket: etcd may delete it then.
            const refillMs = ((spec.capacity - (tokens - 1)) / spec.perSecond) * 1000;
            return { next: { tokens: tokens - 1, updatedMs: nowMs }, result: 0, ttlMs: refillMs };
          },
        ),
    };
  }
}
