// A full disk (README "Exit codes"; the brief's "bad input loses nothing"): `decrypt -o`, `backup
// restore` and `backup create` onto a filesystem with no room fail with exit 1 and a message naming
// the cause, leave no partial output, temporary file or snapshot behind, and leave the
// source backup intact. The full disk is a real 1 MiB tmpfs mounted by the test (CI runs as root).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

let work: string;
let full: string;
let keyFile: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-full-disk-'));
  full = join(work, 'full');
  await mkdir(full);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`this test mounts a 1 MiB tmpfs and needs root: ${(error as Error).message}`);
  }
  keyFile = join(work, 'key.txt');
  await writeFile(keyFile, (await runCli(['keygen'])).stdout);
  await writeFile(join(work, 'plain.bin'), randomBytes(3 * 1024 * 1024));
});

after(async () => {
  execFileSync('umount', [full], { stdio: 'pipe' });
  await rm(work, { recursive: true, force: true });
});

describe('a full disk', () => {
  it('decrypt -o fails with ENOSPC named and leaves no OUT or temporary file', async () => {
    const sealed = join(work, 'plain.srb');
    const made = await runCli(['encrypt', '--key-file', keyFile, '-o', sealed, join(work, 'plain.bin')]);
    assert.equal(made.code, 0, made.stderr);
    const run = await runCli(['decrypt', '--key-file', keyFile, '-o', join(full, 'out.bin'), sealed]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^strongroom: error: .*no space left on device/m);
    assert.deepEqual(await readdir(full), []);
  });

  it('backup restore fails the same way, writes nothing into DIR, and the backup still restores', async () => {
    const store = join(work, 'store');
    const made = await runCli([
      'backup',
      'create',
      join(work, 'plain.bin'),
      '--key-file',
      keyFile,
      '--to',
      store,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const run = await runCli([
      'backup',
      'restore',
      '--key-file',
      keyFile,
      '--from',
      store,
      '--to',
      join(full, 'r'),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no space left on device/);
    assert.deepEqual(await readdir(full), []);
    const again = await runCli([
      'backup',
      'restore',
      '--key-file',
      keyFile,
      '--from',
      store,
      '--to',
      join(work, 'r'),
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await readdir(join(work, 'r')), ['plain.bin']);
  });

  it('backup create into a full store leaves no half-written backup to list', async () => {
    const run = await runCli([
      'backup',
      'create',
      join(work, 'plain.bin'),
      '--key-file',
      keyFile,
      '--to',
      full,
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no space left on device/);
    const listed = await runCli(['backup', 'list', '--from', full, '--key-file', keyFile]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, '');
    // The repository's config may have fitted; no partial blob and no snapshot did.
    assert.deepEqual(
      (await readdir(full)).filter((name) => name !== 'repo.config'),
      [],
    );
  });
});
