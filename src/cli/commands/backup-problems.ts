// The warnings and exit code of a backup that could not read everything (docs/BACKUP.md
// "Incomplete backups"), for `backup create` with a key and store and with a device; and of a
// restore, which names changed files and the entries it left out ("Incomplete restores"). Names
// from a backup are printed escaped ("Names that are not UTF-8"), as the SDK gives them.

import { formatBytes } from '../../client/format-bytes.ts';
import type { SkippedEntry } from '../../client/node/archive-fs.ts';
import type { ExtractSummary } from '../../client/node/extract.ts';
import { escapePath, parseEscapedName, splitSnapshotPath } from '../../client/repository/escaped-names.ts';
import { ExitCode } from '../../errors.ts';

/** `backup restore --path`: the exact bytes it names, and the escaped form messages show. */
export interface RestorePath {
  readonly bytes: Uint8Array;
  readonly shown: string;
}

/**
 * Parses `--path` (escapes as docs/BACKUP.md "Names that are not UTF-8" lists them) into the exact
 * bytes of the path it names; a UsageError when it is malformed. Called before any store is opened
 * or any key or password is asked for, so that a typo fails at once.
 */
export function parseRestorePath(text: string): RestorePath {
  const bytes = parseEscapedName(text, '--path');
  // Split here only to refuse a malformed path early and to show it; restoreSnapshot splits the bytes itself.
  return { bytes, shown: escapePath(splitSnapshotPath(bytes, '--path')) };
}

const changedLine = (path: string) =>
  `strongroom: warning: '${path}' changed while it was being backed up; restored as stored\n`;

/**
 * Names each entry a new backup lacks or may misrepresent and, if any, marks the command's outcome
 * as incomplete (exit 8): the backup exists either way (docs/BACKUP.md "Incomplete backups").
 */
export function reportProblems(result: {
  id: string;
  complete: boolean;
  problems: readonly SkippedEntry[];
}): void {
  for (const { path, reason } of result.problems)
    process.stderr.write(`strongroom: warning: could not back up '${path}': ${reason}\n`);
  if (result.complete) return;
  const count = result.problems.length;
  process.stderr.write(
    `strongroom: warning: backup ${result.id} is incomplete: ${count} entr${count === 1 ? 'y' : 'ies'} could not be backed up faithfully (listed above)\n`,
  );
  process.exitCode = ExitCode.incomplete;
}

/**
 * A restore's report on stderr: each file the backup marked changed, each entry left out because
 * this file system cannot hold it, then the summary; any left out make the outcome incomplete
 * (exit 8): everything else was restored (docs/BACKUP.md "Incomplete restores").
 */
export function reportRestored(result: ExtractSummary & { id: string }, to: string): void {
  for (const path of result.changed) process.stderr.write(changedLine(path));
  for (const { path, reason } of result.problems)
    process.stderr.write(`strongroom: warning: could not restore '${path}': ${reason}\n`);
  process.stderr.write(
    `restored backup ${result.id}: ${result.entries} entries, ${formatBytes(result.contentBytes)} into ${to}\n`,
  );
  if (result.complete) return;
  const count = result.problems.length;
  process.stderr.write(
    `strongroom: warning: restore of backup ${result.id} is incomplete: ${count} entr${count === 1 ? 'y' : 'ies'} could not be restored on this file system (listed above)\n`,
  );
  process.exitCode = ExitCode.incomplete;
}

/**
 * A snapshot restore's report on stderr, with a key and store as with `--device`: each restored
 * file the snapshot marked changed (docs/BACKUP.md "Incomplete backups"), then what was restored.
 */
export function reportRestoredSnapshot(
  result: { id: string; files: number; bytes: number; changed: readonly string[] },
  path: RestorePath | undefined,
  to: string,
): void {
  for (const changed of result.changed) process.stderr.write(changedLine(changed));
  const what = path === undefined ? '' : ` (${path.shown})`;
  const files = `${result.files} file${result.files === 1 ? '' : 's'}`;
  process.stderr.write(
    `restored snapshot ${result.id}${what} into ${to}: ${files}, ${formatBytes(result.bytes)}\n`,
  );
}
