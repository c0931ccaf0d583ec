// Announcements to an account's devices (docs/PROTOCOL.md "ChatD: Notifications"):
// joins, approvals and vault activity. Sent with request id 0 to every connected device of the
// account; a device that was offline gets the ones it missed after its next Welcome.
//
//   Notification (s→c, 0x60): id u32 || kind u8 || atMs u64 || subjectDevice (32) || count u32
//   subjectDevice: the device the event concerns (the new device, the reporting device), or 32 zero
//   bytes when none; count: kind-specific (failed guesses for `recovered`, guesses for `guessesSpent`).
import { checkBytes, checkU64, checkUint, ED25519_PUBLIC_KEY_BYTES } from './message.ts';
import { ByteWriter, check, Reader } from './wire.ts';

export const NotificationKind = {
  /** A device joined and may use the vault. */
  deviceJoined: 1,
  /** A device joined and waits for approval (the account requires it). */
  deviceJoinedPending: 2,
  /** A pending device was approved. */
  deviceApproved: 3,
  /** A device was removed from the account. */
  deviceRemoved: 4,
  /**
   * `count` guesses of the account's record were spent by `subjectDevice`'s request, as the vault
   * host's hint counts them (docs/PROTOCOL.md §9d).
   */
  guessesSpent: 5,
  /** The vault record was locked: the key is destroyed. */
  locked: 6,
  /** The backup password was changed by `subjectDevice`. */
  passwordChanged: 7,
  /** `subjectDevice` recovered the key; the vault showed `count` failed guesses since the last success. */
  recovered: 8,
  /** Password backup was enabled by `subjectDevice`. */
  backupEnabled: 9,
  /** Backup was disabled (record and backups deleted) by `subjectDevice`. */
  backupDisabled: 10,
} as const;
export type NotificationKind = (typeof NotificationKind)[keyof typeof NotificationKind];

const KINDS = new Set<number>(Object.values(NotificationKind));

/** Kinds a device may report with ReportActivity; the others only ChatD or the vault host emit. */
export const DEVICE_REPORTABLE: ReadonlySet<NotificationKind> = new Set([
  NotificationKind.locked,
  NotificationKind.passwordChanged,
  NotificationKind.recovered,
  NotificationKind.backupEnabled,
  NotificationKind.backupDisabled,
]);

export function checkNotificationKind(what: string, value: number): NotificationKind {
  check(KINDS.has(value), what, `notification kind ${value} is unknown`);
  return value as NotificationKind;
}

export const NO_DEVICE = new Uint8Array(ED25519_PUBLIC_KEY_BYTES);

export class Notification {
  static readonly TYPE = 0x60;
  readonly type = Notification.TYPE;
  /** Increasing per account; a device remembers the last one it saw. */
  readonly id: number;
  readonly kind: NotificationKind;
  readonly atMs: bigint;
  readonly subjectDevice: Uint8Array;
  readonly count: number;

  constructor(fields: {
    id: number;
    kind: NotificationKind;
    atMs: bigint;
    subjectDevice?: Uint8Array;
    count?: number;
  }) {
    this.id = checkUint('notification', 'id', fields.id, 0xffffffff);
    this.kind = checkNotificationKind('notification', fields.kind);
    this.atMs = checkU64('notification', 'time', fields.atMs);
    this.subjectDevice = checkBytes(
      'notification',
      'subject device',
      fields.subjectDevice ?? NO_DEVICE,
      ED25519_PUBLIC_KEY_BYTES,
    );
    this.count = checkUint('notification', 'count', fields.count ?? 0, 0xffffffff);
  }

  serialize(): Uint8Array {
    return new ByteWriter()
      .u32(this.id)
      .u8(this.kind)
      .u64(this.atMs)
      .bytes(this.subjectDevice)
      .u32(this.count)
      .finish();
  }

  static deserialize(body: Uint8Array): Notification {
    const r = new Reader(body, 'notification');
    const id = r.u32('id');
    const kind = checkNotificationKind('notification', r.u8('kind'));
    const atMs = r.u64('time');
    const subjectDevice = r.bytes(ED25519_PUBLIC_KEY_BYTES, 'subject device');
    const count = r.u32('count');
    r.end();
    return new Notification({ id, kind, atMs, subjectDevice, count });
  }
}
