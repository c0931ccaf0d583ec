// The `strongroom` command line (README "CLI"). Each command group lives in ./commands and is listed
// in ./command-groups.ts, which imports only the groups a command line needs; this file owns error
// reporting and exit codes (src/errors.ts); ./interrupt.ts those of a SIGINT or SIGTERM.
import './heap-growth.ts';
import { Command, CommanderError } from 'commander';
import { ExitCode, messageOf, StrongroomError } from '../errors.ts';
import { groupsFor, registerGroups } from './command-groups.ts';
import { isInterrupted } from './interrupt.ts';

const program = new Command('strongroom')
  .description('End-to-end encrypted backups for messaging apps')
  .version('0.1.0')
  // Commander's own error lines are not printed: reportAndExit gives them the `strongroom: error:` /
  // `hint:` form of every other error (README "Exit codes"). Subcommands inherit this output.
  .configureOutput({ outputError: () => {} })
  .exitOverride();

/** The words of the command being run (`backup create`), as far as `program` knows them. */
function commandPath(args: readonly string[]): string {
  const words = ['strongroom'];
  let command: Command = program;
  for (const arg of args) {
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    words.push(sub.name());
    command = sub;
  }
  return words.join(' ');
}

/** A usage error from the option parser in the form of every other error, with its suggestion as a hint. */
function reportParserError(error: CommanderError): never {
  const [first = '', ...rest] = error.message.split('\n');
  process.stderr.write(`strongroom: error: ${first.replace(/^error: /, '')}\n`);
  for (const line of rest) {
    const suggestion = /^\(Did you mean (.*)\?\)$/.exec(line.trim());
    if (suggestion) process.stderr.write(`strongroom: hint: did you mean ${suggestion[1]}?\n`);
  }
  process.stderr.write(`strongroom: hint: run \`${commandPath(process.argv.slice(2))} --help\` for usage\n`);
  process.exit(ExitCode.usage);
}

/** Prints an error line then hint lines (age cmd/age/tui.go errorWithHint), and exits with its code. */
export function reportAndExit(error: unknown): never {
  if (error instanceof CommanderError) {
    // Help and version were printed already; anything else is a parser error still to report.
    if (error.exitCode === 0) process.exit(ExitCode.ok);
    if (error.code === 'commander.help' || error.code === 'commander.helpDisplayed')
      process.exit(ExitCode.usage);
    reportParserError(error);
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
