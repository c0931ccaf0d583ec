// The HOST:PORT form every server command takes (`--listen`, and `listen` in node and ChatD configs).
import { UsageError } from './errors.ts';

/**
 * Splits `HOST:PORT` (IPv6 in brackets: `[::1]:8470`); port 0 picks a free port. A malformed address
 * is a UsageError that quotes it, with `hint` as its hint line.
 */
export function parseListenAddress(text: string, hint: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || port > 65535) {
    throw new UsageError(`listen address ${JSON.stringify(text)} is not HOST:PORT`, { hints: [hint] });
  }
  return { host: match[1] ?? match[2]!, port };
}
