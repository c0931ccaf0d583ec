// How ChatD's ErrorFrames surface to a device's caller (docs/PROTOCOL.md "ChatD: Errors"): outcomes
// a caller acts on map to src/errors.ts classes; the rest keep their ChatD code.
import { StrongroomError, UnavailableError } from '../../errors.ts';
import { ErrorCode, type ErrorFrame } from '../../protocol/chatd/errors.ts';
import { BlobNotFoundError } from '../../stores/blob/blob-store.ts';

/** ChatD refused a request; `code` says why (ErrorCode), `detail` as the protocol defines it. */
export class ChatdRequestError extends StrongroomError {
  constructor(
    readonly code: ErrorCode,
    readonly detail: number,
    message: string,
    hints: readonly string[] = [],
  ) {
    super(message, { hints });
  }
}

/**
 * ChatD refused because the account is full: its storage quota (an upload was refused and its
 * partial blob deleted) or its backup list (docs/PROTOCOL.md "ChatD: Errors", quotaExceeded).
 */
export class ChatdQuotaError extends ChatdRequestError {}

/** The error to throw for an ErrorFrame answering a request. */
export function errorFromFrame(frame: ErrorFrame): StrongroomError {
  const said = `ChatD: ${frame.message}`;
  switch (frame.code) {
    case ErrorCode.unavailable:
      return new UnavailableError(said, { hints: ['the vault or the server is down; try again later'] });
    case ErrorCode.rateLimited:
      return new UnavailableError(said, { hints: [`retry in ${Math.ceil(frame.detail / 1000)} s`] });
    case ErrorCode.notFound:
      return new BlobNotFoundError(said);
    case ErrorCode.unauthenticated:
      return new ChatdRequestError(frame.code, frame.detail, said, [
        'join this device to the account first (account join)',
      ]);
    case ErrorCode.quotaExceeded:
      return new ChatdQuotaError(frame.code, frame.detail, said, [
        "`account info` shows the account's usage; forget old backups or snapshots to make room",
      ]);
    case ErrorCode.approvalRequired:
      return new ChatdRequestError(frame.code, frame.detail, said, [
        'approve this device from another device of the account',
      ]);
    default:
      return new ChatdRequestError(frame.code, frame.detail, said);
  }
}
