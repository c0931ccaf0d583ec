// Account settings and device management (docs/PROTOCOL.md "ChatD: Message types" 0x50–0x53):
// the "new devices need approval" setting, approving or removing a device, the account's devices
// and quota, and vault activity a device reports for the others to see.
//
//   AccountInfoRequest (c→s, 0x50): empty
//   AccountInfo        (s→c, 0x51): requireApproval u8 || quotaBytes u64 || usedBytes u64
//                                   || deviceCount u8 || (devicePublicKey (32) || state u8 || joinedAtMs u64)*
//   SetRequireApproval (c→s, 0x52): requireApproval u8 (0 or 1)                 → Ok
//   DecideDevice       (c→s, 0x53): devicePublicKey (32) || approve u8 (1 approve, 0 remove) → Ok
//   ReportActivity     (c→s, 0x54): kind u8 (a NotificationKind a device may report) || count u32 → Ok

import { Ok } from './errors.ts';
import { checkDeviceState, type DeviceState } from './handshake.ts';
import {
  type ChatdRequest,
  checkBytes,
  checkEmpty,
  checkU64,
  checkUint,
  ED25519_PUBLIC_KEY_BYTES,
} from './message.ts';
import { checkNotificationKind, DEVICE_REPORTABLE, type NotificationKind } from './notification.ts';
import { ByteWriter, check, Reader } from './wire.ts';

/** Most devices an account holds. */
export const MAX_DEVICES = 32;

export interface DeviceInfo {
  readonly publicKey: Uint8Array;
  readonly state: DeviceState;
  readonly joinedAtMs: bigint;
}

function checkFlag(what: string, value: number): boolean {
  check(value === 0 || value === 1, what, 'flag must be 0 or 1');
  return value === 1;
}

export class AccountInfoRequest implements ChatdRequest<AccountInfo> {
  static readonly TYPE = 0x50;
  readonly type = AccountInfoRequest.TYPE;
  get responseType() {
    return AccountInfo;
  }
  serialize(): Uint8Array {
    return new Uint8Array(0);
  }
  static deserialize(body: Uint8Array): AccountInfoRequest {
    checkEmpty('account info request', body);
    return new AccountInfoRequest();
  }
}

export class AccountInfo {
  static readonly TYPE = 0x51;
  readonly type = AccountInfo.TYPE;
  /** New devices wait for an existing device's approval before they may use the vault. */
  readonly requireApproval: boolean;
  /** Blob storage quota and what the account uses, in bytes. */
  readonly quotaBytes: bigint;
  readonly usedBytes: bigint;
  readonly devices: readonly DeviceInfo[];

  constructor(fields: {
    requireApproval: boolean;
    quotaBytes: bigint;
    usedBytes: bigint;
    devices: readonly DeviceInfo[];
  }) {
    this.requireApproval = fields.requireApproval === true;
    this.quotaBytes = checkU64('account info', 'quota', fields.quotaBytes);
    this.usedBytes = checkU64('account info', 'used', fields.usedBytes);
    check(fields.devices.length <= MAX_DEVICES, 'account info', `at most ${MAX_DEVICES} devices`);
    this.devices = fields.devices.map((d) => ({
      publicKey: checkBytes('account info', 'device key', d.publicKey, ED25519_PUBLIC_KEY_BYTES),
      state: checkDeviceState('account info', d.state),
      joinedAtMs: checkU64('account info', 'joined at', d.joinedAtMs),
    }));
  }

  serialize(): Uint8Array {
    const w = new ByteWriter()
      .u8(this.requireApproval ? 1 : 0)
      .u64(this.quotaBytes)
      .u64(this.usedBytes)
      .u8(this.devices.length);
    for (const d of this.devices) w.bytes(d.publicKey).u8(d.state).u64(d.joinedAtMs);
    return w.finish();
  }

  static deserialize(body: Uint8Array): AccountInfo {
    const r = new Reader(body, 'account info');
    const requireApproval = checkFlag('account info', r.u8('require approval'));
    const quotaBytes = r.u64('quota');
    const usedBytes = r.u64('used');
    const count = r.u8('device count');
    const devices: DeviceInfo[] = [];
    for (let i = 0; i < count; i++) {
      devices.push({
        publicKey: r.bytes(ED25519_PUBLIC_KEY_BYTES, 'device key'),
        state: checkDeviceState('account info', r.u8('state')),
        joinedAtMs: r.u64('joined at'),
      });
    }
    r.end();
    return new AccountInfo({ requireApproval, quotaBytes, usedBytes, devices });
  }
}

/** Turns the "new devices need approval" setting on or off (active devices only). */
export class SetRequireApproval implements ChatdRequest<Ok> {
  static readonly TYPE = 0x52;
  readonly type = SetRequireApproval.TYPE;
  get responseType() {
    return Ok;
  }
  constructor(readonly requireApproval: boolean) {}
  serialize(): Uint8Array {
    return Uint8Array.of(this.requireApproval ? 1 : 0);
  }
  static deserialize(body: Uint8Array): SetRequireApproval {
    check(body.length === 1, 'set require approval', 'body must be 1 byte');
    return new SetRequireApproval(checkFlag('set require approval', body[0]!));
  }
}

/** An active device approves a pending device, or removes any other device of the account. */
export class DecideDevice implements ChatdRequest<Ok> {
  static readonly TYPE = 0x53;
  readonly type = DecideDevice.TYPE;
  get responseType() {
    return Ok;
  }
  readonly devicePublicKey: Uint8Array;
  readonly approve: boolean;
  constructor(devicePublicKey: Uint8Array, approve: boolean) {
    this.devicePublicKey = checkBytes(
      'decide device',
      'device key',
      devicePublicKey,
      ED25519_PUBLIC_KEY_BYTES,
    );
    this.approve = approve === true;
  }
  serialize(): Uint8Array {
    return new ByteWriter()
      .bytes(this.devicePublicKey)
      .u8(this.approve ? 1 : 0)
      .finish();
  }
  static deserialize(body: Uint8Array): DecideDevice {
    const r = new Reader(body, 'decide device');
    const key = r.bytes(ED25519_PUBLIC_KEY_BYTES, 'device key');
    const approve = checkFlag('decide device', r.u8('approve'));
    r.end();
    return new DecideDevice(key, approve);
  }
}

/**
 * Vault activity the device itself saw (it can open the vault's answers; ChatD cannot), announced
 * to the account's other devices: a password change, a recovery with the failed guesses it
 * revealed, enabling or disabling backup.
 */
export class ReportActivity implements ChatdRequest<Ok> {
  static readonly TYPE = 0x54;
  readonly type = ReportActivity.TYPE;
  get responseType() {
    return Ok;
  }
  readonly kind: NotificationKind;
  readonly count: number;
  constructor(kind: NotificationKind, count = 0) {
    check(DEVICE_REPORTABLE.has(kind), 'report activity', `kind ${kind} cannot be reported by a device`);
    this.kind = kind;
    this.count = checkUint('report activity', 'count', count, 0xffffffff);
  }
  serialize(): Uint8Array {
    return new ByteWriter().u8(this.kind).u32(this.count).finish();
  }
  static deserialize(body: Uint8Array): ReportActivity {
    const r = new Reader(body, 'report activity');
    const kind = checkNotificationKind('report activity', r.u8('kind'));
    const count = r.u32('count');
    r.end();
    return new ReportActivity(kind, count);
  }
}
