// `npm run bench`: runs every bench/*.bench.ts in turn (or those named on the command line) and prints
// their Markdown sections. Each bench measures Strongroom against a reference in the same run (openssl,
// age, a library default) and reports medians and ratios, because these machines are shared and noisy.
// Results worth keeping are copied into docs/BENCHMARKS.md by hand, with the date and machine.
import { readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => wanted.length === 0 || wanted.some((w) => name.startsWith(w)))
  .sort();

console.log(`# Strongroom benchmarks\n`);
console.log(
  `${new Date().toISOString()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · ${Math.round(totalmem() / 2 ** 30)} GiB\n`,
);
let failed = 0;
for (const file of files) {
  const started = performance.now();
  try {
    const module = (await import(pathToFileURL(`${dir}/${file}`).href)) as { default: () => Promise<string> };
    console.log(await module.default());
    console.log(`\n_${file}: ${((performance.now() - started) / 1000).toFixed(1)} s_\n`);
  } catch (error) {
    failed++;
    console.error(`${file} failed: ${error instanceof Error ? error.stack : String(error)}`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
