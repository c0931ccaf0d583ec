// The CLI as `npx strongroom` runs it: compiled JavaScript, no tsx loader in the process. The
// benches that time or measure the memory of whole commands use this, because tsx's start-up
// (about 40 MiB and up to a second on a loaded machine) is not what users run.

import { spawnSync } from 'node:child_process';
import { copyFileSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Compiles the project into `dir`/build (tsc emits despite type errors elsewhere) and returns the CLI's path. */
export function buildCli(dir: string): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = `${root}/node_modules/typescript/bin/tsc`;
  spawnSync(process.execPath, [tsc, '-p', `${root}/tsconfig.json`, '--outDir', `${dir}/build/dist`], {
    stdio: 'ignore',
  });
  copyFileSync(`${root}/package.json`, `${dir}/build/package.json`);
  symlinkSync(`${root}/node_modules`, `${dir}/build/node_modules`);
  return `${dir}/build/dist/src/cli/main.js`;
}
