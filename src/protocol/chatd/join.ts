// Joining a device to an account with a code sent out of band (docs/PROTOCOL.md "ChatD: Join";
// docs/CHATD.md "Join codes"). Both requests are allowed only after the handshake, so the code is bound to
// the device key that proved itself on this connection; the first device to join a user id
// creates the account.
//
//   JoinCodeRequest (c→s, 0x10): empty
//   JoinCodeSent    (s→c, 0x11): expiresInSeconds u32 || codeLength u8
//   JoinSubmit      (c→s, 0x12): codeLen u8 || code (ASCII digits)
//   Joined          (s→c, 0x13): deviceState u8 (1 active, 2 pending approval)

import { checkDeviceState, type DeviceState } from './handshake.ts';
import { type ChatdRequest, checkEmpty, checkUint } from './message.ts';
import { ByteWriter, check, Reader } from './wire.ts';

/** Codes are 4–12 decimal digits (the server's default is 8). */
const CODE_PATTERN = /^[0-9]{4,12}$/;

/** Asks the server to send a join code for this connection's user id and device key. */
export class JoinCodeRequest implements ChatdRequest<JoinCodeSent> {
  static readonly TYPE = 0x10;
  readonly type = JoinCodeRequest.TYPE;
  get responseType() {
    return JoinCodeSent;
  }

  serialize(): Uint8Array {
    return new Uint8Array(0);
  }

  static deserialize(body: Uint8Array): JoinCodeRequest {
    checkEmpty('join code request', body);
    return new JoinCodeRequest();
  }
}

/** A code was sent out of band; it expires after `expiresInSeconds`. */
export class JoinCodeSent {
  static readonly TYPE = 0x11;
  readonly type = JoinCodeSent.TYPE;
  readonly expiresInSeconds: number;
  /** Number of digits, so a prompt can say what to expect. */
  readonly codeLength: number;

  constructor(fields: { expiresInSeconds: number; codeLength: number }) {
    this.expiresInSeconds = checkUint('join code sent', 'expiry', fields.expiresInSeconds, 0xffffffff);
    this.codeLength = checkUint('join code sent', 'code length', fields.codeLength, 12);
  }

  serialize(): Uint8Array {
    return new ByteWriter().u32(this.expiresInSeconds).u8(this.codeLength).finish();
  }

  static deserialize(body: Uint8Array): JoinCodeSent {
    const r = new Reader(body, 'join code sent');
    const expiresInSeconds = r.u32('expiry');
    const codeLength = r.u8('code length');
    r.end();
    return new JoinCodeSent({ expiresInSeconds, codeLength });
  }
}

/** The code the user received; a right code registers this connection's device key. */
export class JoinSubmit implements ChatdRequest<Joined> {
  static readonly TYPE = 0x12;
  readonly type = JoinSubmit.TYPE;
  get responseType() {
    return Joined;
  }
  readonly code: string;

  constructor(code: string) {
    check(
      typeof code === 'string' && CODE_PATTERN.test(code),
      'join submit',
      'code must be 4-12 decimal digits',
    );
    this.code = code;
  }

  serialize(): Uint8Array {
    return new ByteWriter().string8(this.code).finish();
  }

  static deserialize(body: Uint8Array): JoinSubmit {
    const r = new Reader(body, 'join submit');
    const code = r.string8('code');
    r.end();
    return new JoinSubmit(code);
  }
}

/** The device is registered: active, or pending an existing device's approval. */
export class Joined {
  static readonly TYPE = 0x13;
  readonly type = Joined.TYPE;
  readonly deviceState: DeviceState;

  constructor(deviceState: DeviceState) {
    this.deviceState = checkDeviceState('joined', deviceState);
    check(deviceState !== 0, 'joined', 'a joined device cannot be unregistered');
  }

  serialize(): Uint8Array {
    return Uint8Array.of(this.deviceState);
  }

  static deserialize(body: Uint8Array): Joined {
    check(body.length === 1, 'joined', 'body must be 1 byte');
    return new Joined(checkDeviceState('joined', body[0]!));
  }
}
