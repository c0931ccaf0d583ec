// Sets a file's mtime to the exact nanosecond with touch(1), independent of the code under test
// (Node's utimes keeps only microseconds: docs/FORMAT.md §6 "Restoring").
import { execFileSync } from 'node:child_process';

/** `ns` nanoseconds since 1970 as decimal seconds for touch(1), e.g. -1.500000000. */
export function decimalSeconds(ns: bigint): string {
  const magnitude = ns < 0n ? -ns : ns;
  return `${ns < 0n ? '-' : ''}${magnitude / 1_000_000_000n}.${String(magnitude % 1_000_000_000n).padStart(9, '0')}`;
}

/** Sets the mtime of `path` (not following a symlink's target: touch -h) to exactly `ns`. */
export function setMtimeNs(path: string, ns: bigint): void {
  execFileSync('touch', ['-h', '-m', '-d', `@${decimalSeconds(ns)}`, path]);
}
