// Device authentication on each connection (docs/PROTOCOL.md "ChatD: Handshake"):
// Hello → Challenge → Proof → Welcome. The device signs a fresh server nonce with its Ed25519
// device key; the nonce is drawn per connection, so a proof is bound to that one connection.
//
//   Hello     (c→s, 0x01): version u8 || userIdLen u8 || userId || devicePublicKey (32)
//   Challenge (s→c, 0x02): nonce (32)
//   Proof     (c→s, 0x03): signature (64) = Ed25519(deviceKey, AuthTranscript)
//   Welcome   (s→c, 0x04): deviceState u8 (0 unregistered, 1 active, 2 pending approval)
//
//   AuthTranscript = "strongroom/v1/chatd-auth" || nonce (32) || userIdLen u8 || userId
//                    || devicePublicKey (32)
import {
  CHATD_PROTOCOL_VERSION,
  type ChatdRequest,
  checkBytes,
  checkUint,
  checkUserId,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
} from './message.ts';
import { ByteWriter, check, Reader } from './wire.ts';

/** Domain label of the signed handshake transcript (a spec string, pinned by a snapshot test). */
export const AUTH_LABEL = 'strongroom/v1/chatd-auth';
export const CHALLENGE_NONCE_BYTES = 32;

/** Where a device stands in its account. */
export const DeviceState = {
  /** The key is not registered under this user id: only the join messages are allowed. */
  unregistered: 0,
  /** A registered device: every message is allowed. */
  active: 1,
  /** Joined while the account requires approval: it may not use the vault until approved. */
  pending: 2,
} as const;
export type DeviceState = (typeof DeviceState)[keyof typeof DeviceState];

export function checkDeviceState(what: string, value: number): DeviceState {
  check(value === 0 || value === 1 || value === 2, what, `device state ${value} is unknown`);
  return value as DeviceState;
}

/** The bytes a device signs to prove possession of its key on one connection. */
export function authTranscript(nonce: Uint8Array, userId: string, devicePublicKey: Uint8Array): Uint8Array {
  checkBytes('auth transcript', 'nonce', nonce, CHALLENGE_NONCE_BYTES);
  checkUserId('auth transcript', userId);
  checkBytes('auth transcript', 'device public key', devicePublicKey, ED25519_PUBLIC_KEY_BYTES);
  return new ByteWriter()
    .bytes(new TextEncoder().encode(AUTH_LABEL))
    .bytes(nonce)
    .string8(userId)
    .bytes(devicePublicKey)
    .finish();
}

/** The device names its account and key; the server answers with a Challenge. */
export class Hello implements ChatdRequest<Challenge> {
  static readonly TYPE = 0x01;
  readonly type = Hello.TYPE;
  get responseType() {
    return Challenge;
  }
  /** Protocol version the device speaks. */
  readonly version: number;
  /** The account's user id. */
  readonly userId: string;
  /** The device's Ed25519 public key (its identity within the account). */
  readonly devicePublicKey: Uint8Array;

  constructor(fields: { version?: number; userId: string; devicePublicKey: Uint8Array }) {
    this.version = checkUint('hello', 'version', fields.version ?? CHATD_PROTOCOL_VERSION, 255);
    this.userId = checkUserId('hello', fields.userId);
    this.devicePublicKey = checkBytes(
      'hello',
      'device public key',
      fields.devicePublicKey,
      ED25519_PUBLIC_KEY_BYTES,
    );
  }

  serialize(): Uint8Array {
    return new ByteWriter().u8(this.version).string8(this.userId).bytes(this.devicePublicKey).finish();
  }

  static deserialize(body: Uint8Array): Hello {
    const r = new Reader(body, 'hello');
    const version = r.u8('version');
    const userId = r.string8('user id');
    const devicePublicKey = r.bytes(ED25519_PUBLIC_KEY_BYTES, 'device public key');
    r.end();
    return new Hello({ version, userId, devicePublicKey });
  }
}

/** A fresh random nonce for this connection. */
export class Challenge {
  static readonly TYPE = 0x02;
  readonly type = Challenge.TYPE;
  readonly nonce: Uint8Array;

  constructor(nonce: Uint8Array) {
    this.nonce = checkBytes('challenge', 'nonce', nonce, CHALLENGE_NONCE_BYTES);
  }

  serialize(): Uint8Array {
    return Uint8Array.from(this.nonce);
  }

  static deserialize(body: Uint8Array): Challenge {
    return new Challenge(body);
  }
}

/** The device's signature over AuthTranscript(nonce, userId, devicePublicKey). */
export class Proof implements ChatdRequest<Welcome> {
  static readonly TYPE = 0x03;
  readonly type = Proof.TYPE;
  get responseType() {
    return Welcome;
  }
  readonly signature: Uint8Array;

  constructor(signature: Uint8Array) {
    this.signature = checkBytes('proof', 'signature', signature, ED25519_SIGNATURE_BYTES);
  }

  serialize(): Uint8Array {
    return Uint8Array.from(this.signature);
  }

  static deserialize(body: Uint8Array): Proof {
    return new Proof(body);
  }
}

/** The connection is authenticated; what the device may do follows from its state. */
export class Welcome {
  static readonly TYPE = 0x04;
  readonly type = Welcome.TYPE;
  readonly deviceState: DeviceState;

  constructor(deviceState: DeviceState) {
    this.deviceState = checkDeviceState('welcome', deviceState);
  }

  serialize(): Uint8Array {
    return Uint8Array.of(this.deviceState);
  }

  static deserialize(body: Uint8Array): Welcome {
    check(body.length === 1, 'welcome', 'body must be 1 byte');
    return new Welcome(checkDeviceState('welcome', body[0]!));
  }
}
