// `strongroom keygen` (README "CLI"; DESIGN section 2 "Manual mode"): prints a fresh backup key.
import type { Command } from 'commander';
import { nodeCrypto } from '../../client/node/node-crypto.ts';
import { BackupKey } from '../../format/key.ts';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('print a new 256-bit backup key: 64 hex digits in 16 groups of 4 (keep it safe)')
    .action(() => {
      const key = BackupKey.generate(nodeCrypto.randomBytes);
      process.stdout.write(`${key.format()}\n`);
      key.destroy();
    });
}
