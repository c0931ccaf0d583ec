// Announcements to an account's other devices (docs/CHATD.md "Notifications"):
// each event is logged per account and pushed to the devices connected now; a device that was
// offline receives what it missed right after its next Welcome.
import { NO_DEVICE, Notification, type NotificationKind } from '../protocol/chatd/notification.ts';
import type { ChatdDatabase, NotificationRow } from './database.ts';

/** A live, authenticated connection of a registered device. */
export interface DeviceLink {
  readonly accountId: number;
  readonly devicePublicKey: Uint8Array;
  push(notification: Notification): void;
  /** Ends the connection (the device was removed from its account). */
  disconnect(reason: string): void;
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

  constructor(
    private readonly db: ChatdDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers a live device and sends it every notification it has not seen yet. */
  attach(link: DeviceLink, lastSeen: number): void {
    const set = this.links.get(link.accountId) ?? new Set<DeviceLink>();
    this.links.set(link.accountId, set);
    set.add(link);
    const missed = this.db.notificationsAfter(link.accountId, lastSeen);
    for (const row of missed) link.push(toMessage(row));
    const last = missed.at(-1);
    if (last !== undefined) this.db.markNotified(link.accountId, link.devicePublicKey, last.id);
  }

  detach(link: DeviceLink): void {
    const set = this.links.get(link.accountId);
    set?.delete(link);
    if (set?.size === 0) this.links.delete(link.accountId);
  }

  /**
   * Logs an event for the account and pushes it to every connected device but `actor`, the device
   * whose request caused it (it knows what it did; it is marked as having seen it).
   */
  publish(
    accountId: number,
    event: { kind: NotificationKind; subject?: Uint8Array; count?: number },
    actor?: Uint8Array,
  ): void {
    const row = this.db.addNotification(accountId, {
      kind: event.kind,
      atMs: this.now(),
      subject: event.subject ?? NO_DEVICE,
      count: event.count ?? 0,
    });
    if (actor !== undefined) this.db.markNotified(accountId, actor, row.id);
    const message = toMessage(row);
    for (const link of this.links.get(accountId) ?? []) {
      if (actor !== undefined && sameKey(link.devicePublicKey, actor)) continue;
      link.push(message);
      this.db.markNotified(accountId, link.devicePublicKey, row.id);
    }
  }

  /** Closes every live connection of a device that was removed. */
  disconnectDevice(accountId: number, devicePublicKey: Uint8Array): void {
    for (const link of [...(this.links.get(accountId) ?? [])]) {
      if (sameKey(link.devicePublicKey, devicePublicKey)) link.disconnect('device removed from the account');
    }
  }
}
