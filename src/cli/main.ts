// The `strongroom` command line (README "CLI"). Each command group lives in ./commands and registers
// itself here; this file owns error reporting and exit codes (src/errors.ts).
import { Command, CommanderError } from 'commander';
import { ExitCode, StrongroomError } from '../errors.ts';
import { registerAccount } from './commands/account.ts';
import { registerBackup } from './commands/backup.ts';
import { registerCrypt } from './commands/crypt.ts';
import { registerDemo } from './commands/demo.ts';
import { registerFleet } from './commands/fleet.ts';
import { registerKeygen } from './commands/keygen.ts';
import { registerServer } from './commands/server.ts';
import { registerVault } from './commands/vault.ts';
import { registerWeb } from './commands/web.ts';

const program = new Command('strongroom')
  .description('End-to-end encrypted backups for messaging apps')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// Command groups: keep this list in the order `--help` should show them.
const groups: Array<(program: Command) => void> = [registerDemo, registerKeygen, registerCrypt, registerBackup, registerAccount, registerServer, registerFleet, registerVault, registerWeb];
for (const register of groups) register(program);

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
  const detail = error instanceof Error ? error.message : String(error);
  process.stderr.write(`strongroom: error: ${detail}\n`);
  if (process.env.STRONGROOM_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exit(ExitCode.failure);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  reportAndExit(error);
}
