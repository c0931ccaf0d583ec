// A request ChatD refuses with an ErrorFrame (docs/PROTOCOL.md "ChatD: Errors"); the connection
// stays open. Malformed frames use MalformedFrameError instead, which closes it.
import type { ErrorCode } from '../protocol/chatd/errors.ts';

export class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Retry delay in ms (rateLimited) or tries left (wrongCode). */
    readonly detail = 0,
  ) {
    super(message);
  }
}
