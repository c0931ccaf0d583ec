// The one log shape of every Strongroom server (docs/OPERATIONS.md "Logs"): pino JSON lines on
// standard error, each with `service` (vault-node, chatd, server) and, where it applies, the same
// field names: `node`, `op`, `recordIdHash`, `outcome`, `durationMs`. Standard output stays for
// what a supervisor or a person reads (`listening on URL`, development join codes).
import { createHash } from 'node:crypto';
import { type Logger, pino } from 'pino';

export type ServiceName = 'vault-node' | 'chatd' | 'server';

export function serverLogger(service: ServiceName): Logger {
  // Synchronous writes: a line is out before the process exits, even on a fatal error.
  return pino(
    { base: { service }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: 2, sync: true }),
  );
}

/**
 * What a log line says about a record: the first 8 bytes of SHA-256 of its id, in hex. Enough to
 * follow one record through the logs of every node, without writing the id itself (ChatD derives
 * it from the user id).
 */
export function recordIdHash(recordId: Uint8Array): string {
  return createHash('sha256').update(recordId).digest('hex').slice(0, 16);
}
