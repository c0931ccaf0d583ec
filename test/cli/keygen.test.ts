// `strongroom keygen` (README "CLI"; docs/BACKUP.md "Key"): one line, 16 groups of 4 hex digits, a
// fresh key each time; with -o, a new file readable by its owner only, never over another file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

const KEY_LINE = /^[0-9a-f]{4}( [0-9a-f]{4}){15}\n$/;

describe('strongroom keygen', () => {
  it('prints a fresh key as 16 groups of 4 hex digits and nothing else', async () => {
    const [a, b] = await Promise.all([runCli(['keygen']), runCli(['keygen'])]);
    for (const run of [a, b]) {
      assert.equal(run.code, 0);
      assert.match(run.stdout, KEY_LINE);
      assert.equal(run.stderr, '');
    }
    assert.notEqual(a.stdout, b.stdout);
  });

  it('-o writes the key to a new file of mode 0600 and prints nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygen-'));
    try {
      const path = join(dir, 'backup.key');
      const run = await runCli(['keygen', '-o', path]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(readFileSync(path, 'utf8'), KEY_LINE);
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('-o refuses an existing file and leaves it as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygen-'));
    try {
      const path = join(dir, 'old.key');
      writeFileSync(path, 'the old key\n');
      const run = await runCli(['keygen', '--output', path]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^strongroom: error: cannot write key file '.*old\.key': EEXIST\n/);
      assert.match(run.stderr, /strongroom: hint: keygen never replaces a file/);
      assert.equal(run.stdout, '');
      assert.equal(readFileSync(path, 'utf8'), 'the old key\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
