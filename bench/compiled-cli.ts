// The CLI as `npx strongroom` runs it: compiled JavaScript, no tsx loader in the process. The
// benches that time or measure the memory of whole commands use this, because tsx's start-up
// (about 40 MiB and up to a second on a loaded machine) is not what users run.

import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The node options bin/strongroom.js's first line gives node (`#!/usr/bin/env -S node OPTIONS`),
 * so that a bench runs the CLI with the heap settings `npx strongroom` has.
 */
function nodeOptionsOfBin(root: string): string[] {
  const shebang = readFileSync(`${root}/bin/strongroom.js`, 'utf8').split('\n', 1)[0]!;
  const words = shebang.split(/\s+/);
  return words.slice(words.indexOf('node') + 1);
}

/**
 * Compiles the project into `dir`/build (tsc emits despite type errors elsewhere) and returns the
 * arguments that run its CLI under node: the bin's node options, then the CLI's path.
 */
export function buildCli(dir: string): readonly string[] {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = `${root}/node_modules/typescript/bin/tsc`;
  spawnSync(process.execPath, [tsc, '-p', `${root}/tsconfig.json`, '--outDir', `${dir}/build/dist`], {
    stdio: 'ignore',
  });
  copyFileSync(`${root}/package.json`, `${dir}/build/package.json`);
  symlinkSync(`${root}/node_modules`, `${dir}/build/node_modules`);
  return [...nodeOptionsOfBin(root), `${dir}/build/dist/src/cli/main.js`];
}
