#!/usr/bin/env node
// Builds what the package ships (docs/API.md "Installing"): dist/ is removed, src/ is compiled by
// tsc (tsconfig.build.json: JavaScript and .d.ts into dist/src) and the web page is bundled into
// dist/web (scripts/build-web.mjs). package.json runs it as `build`, `prepack` and `prepare`.
// `npm pack` and `npm publish` run `prepack` and then `prepare`: the second run would only redo
// the first, so a `prepare` inside them returns at once.
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build-web.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

if (
  process.env.npm_lifecycle_event === 'prepare' &&
  ['pack', 'publish'].includes(process.env.npm_command ?? '')
) {
  console.log('package build: already built by prepack');
  process.exit(0);
}

await rm(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compile = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (compile.status !== 0) process.exit(compile.status ?? 1);
await buildWeb(join(root, 'dist', 'web'));
console.log('package build: dist/src (tsc) and dist/web (the page) are ready');
