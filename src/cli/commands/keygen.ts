// `strongroom keygen` (README "CLI"; docs/BACKUP.md "Key"): prints a fresh backup key, or
// writes it to a new file readable by its owner only.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { nodeCrypto } from '../../client/node/node-crypto.ts';
import { StrongroomError } from '../../errors.ts';
import { BackupKey } from '../../format/key.ts';

/** Writes the key to a file that did not exist (never over another file, as age-keygen -o), mode 0600. */
async function writeKeyFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StrongroomError(`cannot write key file '${path}': ${code}`, {
      hints: code === 'EEXIST' ? ['keygen never replaces a file: choose a new name'] : [],
    });
  }
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('print a new 256-bit backup key: 64 hex digits in 16 groups of 4 (keep it safe)')
    .option('-o, --output <file>', 'write the key to FILE (a new file, mode 0600) instead of stdout')
    .action(async (options: { output?: string }) => {
      const key = BackupKey.generate(nodeCrypto.randomBytes);
      try {
        const text = `${key.format()}\n`;
        if (options.output === undefined) process.stdout.write(text);
        else await writeKeyFile(options.output, text);
      } finally {
        key.destroy();
      }
    });
}
