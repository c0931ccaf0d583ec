#!/usr/bin/env node
// Keeps the trust boundary of docs/ARCHITECTURE.md true: who may import whom.
// - src/client/** (but src/client/node/**) and src/web/** (but src/web/serve.ts) run in a browser:
//   no node: modules; the client and the page import no server folders.
// - src/client/** never imports chatd, vault-host, hsm-core, stores/record, server.
// - src/chatd/** and src/vault-host/** never import src/hsm-core/**, except the one in-process
//   adapter src/vault-host/core-adapter.ts.
// - src/hsm-core/** imports no node: module (its platform is handed in) and nothing outside
//   src/hsm-core, src/protocol, src/errors.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) files.push(path);
  }
})(join(root, 'src'));

const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const problems = [];
for (const file of files) {
  const rel = relative(root, file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    const target = spec.startsWith('.') ? relative(root, resolve(dirname(file), spec)) : spec;
    const isClient =
      (rel.startsWith('src/client/') && !rel.startsWith('src/client/node/')) ||
      (rel.startsWith('src/web/') && rel !== 'src/web/serve.ts');
    if (isClient || rel.startsWith('src/format/') || rel.startsWith('src/protocol/')) {
      if (target.startsWith('node:')) problems.push(`${rel}: browser-safe code imports ${spec}`);
    }
    if (
      /^src\/(client|web)\//.test(rel) &&
      /^src\/(chatd|vault-host|hsm-core|stores\/record|server)\//.test(target)
    ) {
      problems.push(`${rel}: client imports server-side ${target}`);
    }
    if (
      /^src\/(chatd|vault-host)\//.test(rel) &&
      rel !== 'src/vault-host/core-adapter.ts' &&
      target.startsWith('src/hsm-core/')
    ) {
      problems.push(
        `${rel}: untrusted code imports the core (${target}); go through src/vault-host/core-adapter.ts`,
      );
    }
    if (rel.startsWith('src/hsm-core/')) {
      if (target.startsWith('node:'))
        problems.push(`${rel}: the core imports ${spec}; take it from the Platform`);
      if (target.startsWith('src/') && !/^src\/(hsm-core\/|protocol\/|errors\.ts)/.test(target)) {
        problems.push(`${rel}: the core imports ${target}`);
      }
    }
  }
}
if (problems.length > 0) {
  console.error(`trust-boundary check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`trust-boundary check: ${files.length} files ok`);
