// Mounting the backup opener page (docs/WEB.md "Hosting it") at `/` next to ChatD's WebSocket
// endpoint, for the embedded server and the standalone ChatD. The page is optional: a checkout that
// has not built it (dist/web missing) still serves ChatD, and the log says how to get the page.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { StrongroomError } from '../errors.ts';
import { createWebHandler } from '../web/serve.ts';

export type PageHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** The page's handler, or undefined (logged with the build hint) when the page is not built in `root`. */
export function loadWebPage(logger: Logger, root?: string): PageHandler | undefined {
  try {
    return createWebHandler({ root });
  } catch (error) {
    if (!(error instanceof StrongroomError)) throw error;
    logger.warn({ hints: error.hints }, `${error.message}; serving ChatD without the backup opener page`);
    return undefined;
  }
}
