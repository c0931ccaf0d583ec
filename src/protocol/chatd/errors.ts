// Answers that carry no data: Ok, and ErrorFrame with its codes (docs/PROTOCOL.md "ChatD: Errors").
// An ErrorFrame may answer any request (same request id); with request id 0 it reports a problem
// with the connection itself, just before the server closes it.
//
//   Ok         (s→c, 0x7E): empty
//   ErrorFrame (s→c, 0x7F): code u8 || detail u32 || messageLen u16 || message (UTF-8, ≤ 512 bytes)
import { checkEmpty, checkUint } from './message.ts';
import { ByteWriter, check, Reader } from './wire.ts';

/** Why a request failed. `detail` is the retry delay in ms (rateLimited) or the tries left (wrongCode). */
export const ErrorCode = {
  /** The connection has not authenticated, or the device is not registered in the account. */
  unauthenticated: 1,
  /** Too many requests from this account or address; retry after `detail` ms. */
  rateLimited: 2,
  /** No vault node answered (or ChatD's own storage failed); nothing was done. */
  unavailable: 3,
  /** The account's blob storage quota would be exceeded; the upload was discarded. */
  quotaExceeded: 4,
  /** The frame could not be parsed or came out of order; the server closes the connection. */
  malformed: 5,
  /** The request names a record, blob or device that is not this account's. */
  forbidden: 6,
  /** No such blob, backup or pending device. */
  notFound: 7,
  /** The device joined while the account requires approval and no existing device approved it yet. */
  approvalRequired: 8,
  /** The join code is wrong; `detail` tries are left for this code. */
  wrongCode: 9,
  /** No live join code for this device (never requested, expired, or out of tries). */
  codeExpired: 10,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const MAX_MESSAGE_BYTES = 512;
const KNOWN_CODES = new Set<number>(Object.values(ErrorCode));

/** A request succeeded and has nothing to return. */
export class Ok {
  static readonly TYPE = 0x7e;
  readonly type = Ok.TYPE;

  serialize(): Uint8Array {
    return new Uint8Array(0);
  }

  static deserialize(body: Uint8Array): Ok {
    checkEmpty('ok', body);
    return new Ok();
  }
}

/** A failed request, or (request id 0) the reason the server is closing the connection. */
export class ErrorFrame {
  static readonly TYPE = 0x7f;
  readonly type = ErrorFrame.TYPE;
  readonly code: ErrorCode;
  readonly detail: number;
  /** Plain words for a person; quotes public inputs only. */
  readonly message: string;

  constructor(fields: { code: ErrorCode; detail?: number; message: string }) {
    check(KNOWN_CODES.has(fields.code), 'error', `error code ${fields.code} is unknown`);
    this.code = fields.code;
    this.detail = checkUint('error', 'detail', fields.detail ?? 0, 0xffffffff);
    check(
      typeof fields.message === 'string' &&
        new TextEncoder().encode(fields.message).length <= MAX_MESSAGE_BYTES,
      'error',
      `message must be at most ${MAX_MESSAGE_BYTES} bytes`,
    );
    this.message = fields.message;
  }

  serialize(): Uint8Array {
    return new ByteWriter().u8(this.code).u32(this.detail).string16(this.message).finish();
  }

  static deserialize(body: Uint8Array): ErrorFrame {
    const r = new Reader(body, 'error');
    const code = r.u8('code') as ErrorCode;
    const detail = r.u32('detail');
    const message = r.string16('message');
    r.end();
    return new ErrorFrame({ code, detail, message });
  }
}
