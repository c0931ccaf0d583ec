// Outer frames of the client-vault channel (docs/PROTOCOL.md "Frames"): the request frame with its
// routing header in clear, and the response frame (sealed, or a plain error that reveals nothing).
//
// VaultRequestFrame:
//   magic "SRVQ" (4) || version u8 = 1 || op u8 || fleetId (16) || recordIdLen u8 (16..64)
//   || recordId || enc (32, HPKE encapsulated key) || ciphertext (HPKE, >= 16)
// header = everything before enc; it is the HPKE aad, so a relay cannot re-route a frame.
//
// VaultResponseFrame:
//   magic "SRVR" (4) || version u8 = 1 || kind u8
//   kind 1 (sealed):  responseNonce (32) || AES-256-GCM ciphertext of a VaultResponse (>= 16)
//   kind 2 (error):   code u8 (ErrorCode) — unsealed, so it can only mean "no answer"
import {
  bytesEqual,
  checkInt,
  checkRange,
  checkSize,
  concat,
  MalformedFrameError,
  Reader,
  u8,
} from './bytes.ts';
import {
  AEAD_TAG_LENGTH,
  FLEET_ID_LENGTH,
  HPKE_ENC_LENGTH,
  RECORD_ID_MAX,
  RECORD_ID_MIN,
  RESPONSE_NONCE_LENGTH,
} from './labels.ts';

export const PROTOCOL_VERSION = 1;
const REQUEST_MAGIC = Uint8Array.of(0x53, 0x52, 0x56, 0x51); // "SRVQ"
const RESPONSE_MAGIC = Uint8Array.of(0x53, 0x52, 0x56, 0x52); // "SRVR"

/** Client operations (docs/PROTOCOL.md "Flows"). */
export enum VaultOp {
  status = 1,
  registerStart = 2,
  registerFinish = 3,
  loginStart = 4,
  loginFinish = 5,
  delete = 6,
}

export function checkOp(value: number): VaultOp {
  if (!(value in VaultOp) || typeof VaultOp[value] !== 'string') {
    throw new MalformedFrameError(`unknown vault op ${value}`);
  }
  return value as VaultOp;
}

/** A sealed client request; the header routes it, the ciphertext is for the cores only. */
export class VaultRequestFrame {
  readonly op: VaultOp;
  /** The fleet this request is sealed to. */
  readonly fleetId: Uint8Array;
  /** The record (16..64 bytes; the client picks it, ChatD binds it to an account). */
  readonly recordId: Uint8Array;
  /** HPKE encapsulated key. */
  readonly enc: Uint8Array;
  /** HPKE ciphertext of the op's request body (requests.ts). */
  readonly ciphertext: Uint8Array;

  constructor(fields: {
    op: VaultOp;
    fleetId: Uint8Array;
    recordId: Uint8Array;
    enc: Uint8Array;
    ciphertext: Uint8Array;
  }) {
    this.op = checkOp(fields.op);
    this.fleetId = checkSize('request fleetId', fields.fleetId, FLEET_ID_LENGTH);
    this.recordId = checkRange('request recordId', fields.recordId, RECORD_ID_MIN, RECORD_ID_MAX);
    this.enc = checkSize('request enc', fields.enc, HPKE_ENC_LENGTH);
    this.ciphertext = checkRange('request ciphertext', fields.ciphertext, AEAD_TAG_LENGTH, 1 << 20);
  }

  /** The clear header (HPKE aad): magic through recordId. */
  static header(op: VaultOp, fleetId: Uint8Array, recordId: Uint8Array): Uint8Array {
    return concat(REQUEST_MAGIC, u8(PROTOCOL_VERSION), u8(op), fleetId, u8(recordId.length), recordId);
  }

  header(): Uint8Array {
    return VaultRequestFrame.header(this.op, this.fleetId, this.recordId);
  }

  serialize(): Uint8Array {
    return concat(this.header(), this.enc, this.ciphertext);
  }

  static deserialize(bytes: Uint8Array): VaultRequestFrame {
    const reader = new Reader(bytes, 'vault request frame');
    if (!bytesEqual(reader.bytes(4, 'magic'), REQUEST_MAGIC)) {
      throw new MalformedFrameError('vault request frame: bad magic');
    }
    const version = reader.u8('version');
    if (version !== PROTOCOL_VERSION)
      throw new MalformedFrameError(`vault request frame: unsupported version ${version}`);
    const op = checkOp(reader.u8('op'));
    const fleetId = reader.bytes(FLEET_ID_LENGTH, 'fleetId');
    const recordId = reader.prefixed(1, 'recordId');
    const enc = reader.bytes(HPKE_ENC_LENGTH, 'enc');
    const ciphertext = reader.rest();
    return new VaultRequestFrame({ op, fleetId, recordId, enc, ciphertext });
  }
}

/** Why a response is an unsealed error: none of them is a password outcome. */
export enum ErrorCode {
  /** The request did not decode or open (wrong fleet key, altered byte, unknown op). */
  unopenable = 1,
  /** No quorum of nodes could be reached or the store failed. */
  unavailable = 2,
}

export type VaultResponseFrame =
  | { readonly kind: 'sealed'; readonly responseNonce: Uint8Array; readonly ciphertext: Uint8Array }
  | { readonly kind: 'error'; readonly code: ErrorCode };

export function serializeResponseFrame(frame: VaultResponseFrame): Uint8Array {
  if (frame.kind === 'error') return concat(RESPONSE_MAGIC, u8(PROTOCOL_VERSION), u8(2), u8(frame.code));
  checkSize('response nonce', frame.responseNonce, RESPONSE_NONCE_LENGTH);
  checkRange('response ciphertext', frame.ciphertext, AEAD_TAG_LENGTH, 1 << 20);
  return concat(RESPONSE_MAGIC, u8(PROTOCOL_VERSION), u8(1), frame.responseNonce, frame.ciphertext);
}

export function deserializeResponseFrame(bytes: Uint8Array): VaultResponseFrame {
  const reader = new Reader(bytes, 'vault response frame');
  if (!bytesEqual(reader.bytes(4, 'magic'), RESPONSE_MAGIC)) {
    throw new MalformedFrameError('vault response frame: bad magic');
  }
  const version = reader.u8('version');
  if (version !== PROTOCOL_VERSION)
    throw new MalformedFrameError(`vault response frame: unsupported version ${version}`);
  const kind = reader.u8('kind');
  if (kind === 2) {
    const code = checkInt('vault response error code', reader.u8('code'), 1, 2) as ErrorCode;
    reader.end();
    return { kind: 'error', code };
  }
  if (kind !== 1) throw new MalformedFrameError(`vault response frame: unknown kind ${kind}`);
  const responseNonce = reader.bytes(RESPONSE_NONCE_LENGTH, 'responseNonce');
  const ciphertext = reader.rest();
  checkRange('vault response frame: ciphertext', ciphertext, AEAD_TAG_LENGTH, 1 << 20);
  return { kind: 'sealed', responseNonce, ciphertext };
}
