// Announcements to an account's other devices (docs/CHATD.md "Notifications"):
// each event is logged per account in the account store and pushed to the devices connected now;
// a device that was offline receives what it missed right after its next Welcome. When several
// ChatDs share the store, a device may be connected to another ChatD than the one that logged the
// event: each ChatD then watches the store for new notifications (docs/CHATD.md "ChatD across
// regions") and pushes to its devices what they have not been sent yet. Only while that watch is
// broken (a lost etcd member or quorum) does it read the log of its connected accounts every
// POLL_MS instead, and it watches again every WATCH_RETRY_MS until the watch is back.
import { NO_DEVICE, Notification, NotificationKind } from '../protocol/chatd/notification.ts';
import type { AccountStore, NotificationRow } from './account-store.ts';

/** A live, authenticated connection of a registered device. */
export interface DeviceLink {
  readonly accountId: number;
  readonly devicePublicKey: Uint8Array;
  push(notification: Notification): void;
  /** Ends the connection (the device was removed from its account). */
  disconnect(reason: string): void;
}

/** How often a ChatD sharing its store looks for other ChatDs' notifications while it cannot watch. */
export const POLL_MS = 250;
/** How long after a watch error the notifier watches again. */
export const WATCH_RETRY_MS = 1000;

export interface NotifierOptions {
  readonly now?: () => number;
  /** Told why a watch ended or a poll failed (the notifier carries on). */
  readonly onError?: (error: unknown) => void;
  /** Told of each round of polling (metrics: polls happen only while the watch is broken). */
  readonly onPoll?: () => void;
  /** Told each time the watch is in place (the log says when polling ends). */
  readonly onWatching?: () => void;
}

const sameKey = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b);

function toMessage(row: NotificationRow): Notification {
  return new Notification({
    id: row.id,
    kind: row.kind as NotificationKind,
    atMs: BigInt(row.atMs),
    subjectDevice: row.subject,
    count: row.count,
  });
}

export class Notifier {
  private readonly links = new Map<number, Set<DeviceLink>>();
  /** The last notification id each link was sent (or skipped: its own doing). */
  private readonly sent = new Map<DeviceLink, number>();
  /** Ids a link is not sent because its device caused them. */
  private readonly skip = new Map<DeviceLink, Set<number>>();
  /** One delivery at a time per account, so pushes keep the log's order. */
  private readonly deliveries = new Map<number, Promise<void>>();
  private readonly now: () => number;
  private readonly onError: (error: unknown) => void;
  private readonly onPoll: () => void;
  private readonly onWatching: () => void;
  private poll: NodeJS.Timeout | undefined;
  private watch: { close(): void } | undefined;
  private rewatch: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: AccountStore,
    options: NotifierOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
    this.onPoll = options.onPoll ?? (() => {});
    this.onWatching = options.onWatching ?? (() => {});
    if (!store.shared) return;
    if (store.watchNotifications === undefined) this.startPolling();
    else this.startWatching();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    clearTimeout(this.rewatch);
    this.watch?.close();
  }

  private startWatching(): void {
    this.watch = this.store.watchNotifications?.({
      onCreated: () => {
        this.onWatching();
        clearInterval(this.poll);
        this.poll = undefined;
        // What was logged while there was no watch: one read per connected account catches up.
        this.deliverAll();
      },
      onNotified: (accountId) => {
        if (this.links.has(accountId)) this.deliver(accountId).catch(this.onError);
      },
      onError: (error) => {
        this.watch = undefined;
        if (this.closed) return;
        this.onError(error);
        this.startPolling();
        this.rewatch = setTimeout(() => this.startWatching(), WATCH_RETRY_MS);
        this.rewatch.unref();
      },
    });
  }

  private startPolling(): void {
    if (this.poll !== undefined) return;
    this.poll = setInterval(() => {
      this.onPoll();
      this.deliverAll();
    }, POLL_MS);
    this.poll.unref();
  }

  private deliverAll(): void {
    for (const accountId of this.links.keys()) this.deliver(accountId).catch(this.onError);
  }

  /** Registers a live device and sends it every notification it has not seen yet. */
  async attach(link: DeviceLink, lastSeen: number): Promise<void> {
    const set = this.links.get(link.accountId) ?? new Set<DeviceLink>();
    this.links.set(link.accountId, set);
    set.add(link);
    this.sent.set(link, lastSeen);
    // Registered even if this first read fails: the next notification or poll delivers the rest.
    await this.deliver(link.accountId).catch(this.onError);
  }

  detach(link: DeviceLink): void {
    const set = this.links.get(link.accountId);
    set?.delete(link);
    if (set?.size === 0) this.links.delete(link.accountId);
    this.sent.delete(link);
    this.skip.delete(link);
  }

  /**
   * Logs an event for the account and pushes it to every connected device but `actor`, the device
   * whose request caused it (it knows what it did; it is marked as having seen it). Returns the
   * event's id in the log.
   */
  async publish(
    accountId: number,
    event: { kind: NotificationKind; subject?: Uint8Array; count?: number },
    actor?: Uint8Array,
  ): Promise<number> {
    const row = await this.store.addNotification(accountId, {
      kind: event.kind,
      atMs: this.now(),
      subject: event.subject ?? NO_DEVICE,
      count: event.count ?? 0,
    });
    if (actor !== undefined) {
      await this.store.markNotified(accountId, actor, row.id);
      for (const link of this.links.get(accountId) ?? []) {
        if (!sameKey(link.devicePublicKey, actor)) continue;
        const skip = this.skip.get(link) ?? new Set<number>();
        this.skip.set(link, skip.add(row.id));
      }
    }
    await this.deliver(accountId);
    return row.id;
  }

  /** Pushes to the account's connected devices what the log holds beyond what each was sent. */
  private deliver(accountId: number): Promise<void> {
    const previous = this.deliveries.get(accountId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.deliverNow(accountId));
    this.deliveries.set(accountId, next);
    const forget = () => {
      if (this.deliveries.get(accountId) === next) this.deliveries.delete(accountId);
    };
    next.then(forget, forget);
    return next;
  }

  private async deliverNow(accountId: number): Promise<void> {
    const links = [...(this.links.get(accountId) ?? [])];
    if (links.length === 0) return;
    const from = Math.min(...links.map((link) => this.sent.get(link) ?? 0));
    const rows = await this.store.notificationsAfter(accountId, from);
    for (const link of links) {
      const before = this.sent.get(link);
      if (before === undefined) continue; // detached meanwhile
      let last = before;
      const skip = this.skip.get(link);
      for (const row of rows) {
        if (row.id <= last) continue;
        last = row.id;
        if (skip?.delete(row.id)) continue;
        link.push(toMessage(row));
        // Whichever ChatD removed the device, the one it is connected to ends its connection.
        if (row.kind === NotificationKind.deviceRemoved && sameKey(row.subject, link.devicePublicKey)) {
          link.disconnect('device removed from the account');
        }
      }
      if (last > before && this.sent.has(link)) {
        this.sent.set(link, last);
        await this.store.markNotified(accountId, link.devicePublicKey, last);
      }
    }
  }
}
