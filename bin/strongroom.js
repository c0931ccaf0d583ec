#!/usr/bin/env node
// The installed `strongroom` command: runs the compiled CLI. dist/ is built by scripts/build-package.mjs,
// which `npm pack` runs as prepack (the published package) and `npm ci` as prepare (a clone).
// The import is relative to this file, so the command works from any folder.
import '../dist/src/cli/main.js';
