// The warnings and exit code of a backup that could not read everything (docs/BACKUP.md
// "Incomplete backups"), for `backup create` with a key and store and with a device.
import type { SkippedEntry } from '../../client/node/archive-fs.ts';
import { ExitCode } from '../../errors.ts';

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
