#!/usr/bin/env node
// Runs the test suites (README "Set-up"): `node scripts/run-tests.mjs [suite...]`, every suite when none
// is named. Node 20's test runner does not expand globs, so this script finds the files itself.
// Suites run one after another; within a suite, files run in parallel up to its concurrency.
//   unit   everything under test/ except the suites below (fast; real files, sockets, SoftHSM2, s3rver)
//   e2e    whole flows through the server, the CLI and the SDK, the browser page, and the package packed,
//          installed and used as a consumer would (test/e2e, test/web, test/package)
//   fleet  vault node processes over a real 3-member etcd cluster (test/fleet)
// Ends with one line `N passed, N failed` summed over the suites; exits non-zero if any test failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const special = { e2e: ['test/e2e/', 'test/web/', 'test/package/'], fleet: ['test/fleet/'] };
const concurrency = { unit: 2, e2e: 1, fleet: 1 };

function testFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}
const all = testFiles(join(root, 'test')).sort();
const suiteOf = (file) =>
  Object.entries(special).find(([, prefixes]) => prefixes.some((p) => file.startsWith(p)))?.[0] ?? 'unit';

const wanted = process.argv.slice(2);
const suites = wanted.length > 0 ? wanted : ['unit', 'e2e', 'fleet'];
const tapDir = mkdtempSync(join(tmpdir(), 'strongroom-tests-'));
let passed = 0;
let failed = 0;
let exitCode = 0;
for (const suite of suites) {
  if (!(suite in concurrency)) {
    console.error(`unknown suite '${suite}' (expected unit, e2e or fleet)`);
    process.exit(2);
  }
  const files = all.filter((file) => suiteOf(file) === suite);
  console.log(`\n## ${suite}: ${files.length} test files\n`);
  const tap = join(tapDir, `${suite}.tap`);
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency[suite]}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  const summary = readFileSync(tap, 'utf8');
  const count = (label) => Number(summary.match(new RegExp(`^# ${label} (\\d+)$`, 'm'))?.[1] ?? 0);
  passed += count('pass');
  failed += count('fail') + count('cancelled');
  if (run.status !== 0) exitCode = 1;
}
rmSync(tapDir, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(exitCode);
