// The `strongroom` command line (README "CLI"). Each command group lives in ./commands and is listed
// in ./command-groups.ts, which imports only the groups a command line needs; this file owns error
// reporting and exit codes (src/errors.ts); ./interrupt.ts those of a SIGINT or SIGTERM.
import { Command, CommanderError } from 'commander';
import { ExitCode, messageOf, StrongroomError } from '../errors.ts';
import { groupsFor, registerGroups } from './command-groups.ts';
import { isInterrupted } from './interrupt.ts';

const program = new Command('strongroom')
  .description('End-to-end encrypted backups for messaging apps')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

/** Prints an error line then hint lines (age cmd/age/tui.go errorWithHint), and exits with its code. */
export function reportAndExit(error: unknown): never {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
  }
  if (error instanceof StrongroomError) {
    process.stderr.write(`strongroom: error: ${error.message}\n`);
    for (const hint of error.hints) process.stderr.write(`strongroom: hint: ${hint}\n`);
    process.exit(error.exitCode);
  }
  const detail = messageOf(error);
  process.stderr.write(`strongroom: error: ${detail}\n`);
  if (process.env.STRONGROOM_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exit(ExitCode.failure);
}

try {
  await registerGroups(program, groupsFor(process.argv.slice(2)));
  await program.parseAsync(process.argv);
} catch (error) {
  // Once interrupted, the run's failure is the interruption's doing (its temporaries vanished):
  // the signal handler reports and exits.
  if (!isInterrupted()) reportAndExit(error);
}
