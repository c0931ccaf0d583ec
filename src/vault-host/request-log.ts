// The one log line a vault host writes per client request (docs/OPERATIONS.md "Logs"): what was
// asked and how it ended, never a frame's bytes; the record only as a hash of its id. Written by a
// `vault node` process and by the embedded server's in-process hosts alike.
import type { Logger } from 'pino';
import { recordIdHash } from '../observability/log.ts';
import type { RequestEvent } from './coordinator.ts';
import { opName } from './vault-metrics.ts';

export function logVaultRequest(log: Logger, event: RequestEvent): void {
  log.info(
    {
      event: 'vault-request',
      op: opName(event.op),
      ...(event.recordId === undefined ? {} : { recordIdHash: recordIdHash(event.recordId) }),
      outcome: event.outcome,
      guessesSpent: event.guessesSpent,
      durationMs: Math.round(event.durationMs),
    },
    'vault request',
  );
}
