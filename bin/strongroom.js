#!/usr/bin/env -S node --max-semi-space-size=4
// The installed `strongroom` command: runs the compiled CLI. dist/ is built by scripts/build-package.mjs,
// which `npm pack` runs as prepack (the published package) and `npm ci` as prepare (a clone).
// The import is relative to this file, so the command works from any folder. The young generation
// is capped at 4 MiB a semi-space (V8's default is 16) on the line above, because V8 sizes it only
// as the process starts: a backup of many small files makes short-lived objects by the million,
// and the larger young generation held some 35 MiB more of them at no gain in time
// (docs/ARCHITECTURE.md "Memory"). bench/compiled-cli.ts runs the CLI with the same options.
import '../dist/src/cli/main.js';
