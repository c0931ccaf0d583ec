#!/usr/bin/env node
// Builds the backup opener page (docs/WEB.md "Hosting it") into dist/web, or into --outdir DIR:
//   index.html  (src/web/page.html)   style.css   icon.svg
//   main.js     (src/web/main.ts and what it imports, bundled by esbuild for the browser)
// main.js is a classic script, not a module: Chromium refuses module scripts from file:// URLs.
// It is not minified, so that anyone can read what their browser runs.
import { copyFile, mkdir, realpath, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'src', 'web');

/** Builds the page into `outdir` (replacing what is there) and returns the files written. */
export async function buildWeb(outdir = join(root, 'dist', 'web')) {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: [join(web, 'main.ts')],
    outfile: join(outdir, 'main.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    // Browsers with DecompressionStream('deflate') and ReadableStream from Blob.stream().
    target: ['chrome111', 'firefox113', 'safari16.4'],
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    absWorkingDir: root,
  });
  // platform 'browser' already fails on a node: import; this names the culprit if one sneaks in.
  // Inputs are named relative to the root; node_modules may be a symlink to a shared install.
  const modules = `${relative(root, await realpath(join(root, 'node_modules')))}/`;
  const inputs = Object.keys(result.metafile.inputs);
  const stray = inputs.filter(
    (input) => !input.startsWith('src/') && !input.startsWith('node_modules/') && !input.startsWith(modules),
  );
  if (stray.length > 0) throw new Error(`unexpected inputs in the web bundle: ${stray.join(', ')}`);
  await copyFile(join(web, 'page.html'), join(outdir, 'index.html'));
  await copyFile(join(web, 'style.css'), join(outdir, 'style.css'));
  await copyFile(join(web, 'icon.svg'), join(outdir, 'icon.svg'));
  return ['index.html', 'main.js', 'style.css', 'icon.svg'].map((name) => join(outdir, name));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const flag = process.argv.indexOf('--outdir');
  const outdir = flag >= 0 ? resolve(process.argv[flag + 1] ?? '') : undefined;
  const files = await buildWeb(outdir);
  console.log(`web page built: ${files.map((file) => relative(process.cwd(), file)).join(' ')}`);
}
