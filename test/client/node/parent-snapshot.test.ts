// The file-metadata cache of repository backups (src/client/node/parent-snapshot.ts; docs/FORMAT.md
// §12.7 "Parent snapshot"): a second backup of an unchanged tree reads no file, which an
// unprivileged run that cannot read the files proves; a touched file, a file rewritten with its
// mtime put back (its ctime moved) and a file replaced by a copy (another inode) are read again;
// so is a file that changed too close to the parent run's start (racily clean).
// `time` sets when a run started: a first backup said to start seconds after the files were last
// changed stands for a backup run later than that, without the test sleeping.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { RACY_WINDOW_NS } from '../../../src/client/node/parent-snapshot.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { Repository } from '../../../src/client/repository/repository.ts';
import { ExitCode } from '../../../src/errors.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { runCli } from '../../helpers/cli.ts';
import { setMtimeNs } from '../../helpers/file-times.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
let work: string;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-parent-test-'));
});
after(() => execFileSync('rm', ['-rf', work]));

const open = (directory: string) =>
  Repository.openOrCreate(new DirectoryBlobStore(directory), key, nodeCrypto);

/** A start time safely after every change made so far: now plus the racy window and a second. */
const later = () => new Date(Date.now() + Number(RACY_WINDOW_NS / 1_000_000n) + 1000);

/** A tree of `count` files of random content in two directories. */
async function sourceTree(count: number): Promise<string> {
  const source = fresh('source');
  for (const dir of ['a', 'b/c']) await mkdir(join(source, dir), { recursive: true });
  for (let i = 0; i < count; i++) {
    await writeFile(join(source, i % 2 === 0 ? 'a' : 'b/c', `f${i}`), nodeCrypto.randomBytes(1000 + i));
  }
  return source;
}

describe('parent snapshot', () => {
  it('an unchanged second backup reads no file, stores no tree and adds under 1 KiB', async () => {
    const source = await sourceTree(20);
    const repository = await open(fresh('repo'));
    const first = await createSnapshot(repository, [source], { time: later() });
    assert.equal(first.parent, null);
    assert.equal(first.filesRead, 20);
    const second = await createSnapshot(repository, [source], { time: later() });
    assert.equal(second.parent, first.id, 'the latest snapshot of the same paths');
    assert.equal(second.filesRead, 0);
    assert.equal(second.filesReused, 20);
    assert.equal(second.tree, first.tree);
    assert.ok(second.added < 1024, `added ${second.added} bytes`);
    const to = fresh('restored');
    await restoreSnapshot(repository, { to, id: second.id });
    assert.deepEqual(
      await readFile(join(to, basename(source), 'a', 'f0')),
      await readFile(join(source, 'a', 'f0')),
    );
  });

  it('an unprivileged second backup of files it cannot read succeeds, since it reads none of them', {
    skip: process.getuid?.() !== 0 && 'needs root to run the second backup as nobody',
  }, async () => {
    const source = await sourceTree(6);
    // Files 0600 owned by root: nobody can lstat them (the directories are 0755) but not read them.
    execFileSync('chmod', ['-R', 'u=rwX,go=rX', source]);
    execFileSync('find', [source, '-type', 'f', '-exec', 'chmod', '0600', '{}', '+']);
    await chmod(work, 0o755);
    const repoDir = fresh('repo');
    const repository = await open(repoDir);
    const first = await createSnapshot(repository, [source], { time: later() });
    repository.close();
    execFileSync('chown', ['-R', '65534:65534', repoDir]);
    const keyFile = join(work, `key-${counter++}`);
    await writeFile(keyFile, key.format(), { mode: 0o644 });
    const nobody = { uid: 65534, gid: 65534 };
    const second = await runCli(['backup', 'create', source, '--key-file', keyFile, '--to', repoDir], nobody);
    assert.equal(second.code, ExitCode.ok, second.stderr);
    assert.doesNotMatch(second.stderr, /could not back up|EACCES/);
    // The control: a file nobody cannot read, changed since, makes the same run fail to read it.
    await writeFile(join(source, 'a', 'f0'), 'changed');
    await chmod(join(source, 'a', 'f0'), 0o600);
    const third = await runCli(['backup', 'create', source, '--key-file', keyFile, '--to', repoDir], nobody);
    assert.equal(third.code, ExitCode.incomplete, third.stderr);
    assert.match(third.stderr, /could not back up '.*a\/f0': permission denied \(EACCES\)/);
    const reopened = await open(repoDir);
    assert.equal(
      (await reopened.readSnapshot(second.stdout.trim())).tree,
      first.tree,
      'the unprivileged run stored the same tree',
    );
  });

  it('reads again a touched file, a file rewritten with its mtime put back, and a file replaced by a copy', async () => {
    const source = await sourceTree(8);
    const repository = await open(fresh('repo'));
    await createSnapshot(repository, [source], { time: later() });

    execFileSync('touch', [join(source, 'a', 'f0')]); // same content, new mtime
    const touched = await createSnapshot(repository, [source], { time: later() });
    assert.equal(touched.filesRead, 1);
    // Its chunks were stored already: what it adds is a pack of new trees (64 KiB padded), an index, a snapshot.
    assert.ok(touched.added < 66 * 1024, `added ${touched.added} bytes`);

    // Same size, new bytes, mtime set back: only the ctime (which no one can set) shows the change.
    const path = join(source, 'a', 'f2');
    const { mtimeNs, size } = await stat(path, { bigint: true });
    const replacement = nodeCrypto.randomBytes(Number(size));
    await writeFile(path, replacement);
    setMtimeNs(path, mtimeNs);
    assert.equal((await stat(path, { bigint: true })).mtimeNs, mtimeNs);
    const rewritten = await createSnapshot(repository, [source], { time: later() });
    assert.equal(rewritten.filesRead, 1);
    const to = fresh('restored');
    await restoreSnapshot(repository, { to, id: rewritten.id });
    assert.deepEqual(await readFile(join(to, basename(source), 'a', 'f2')), Buffer.from(replacement));

    // A copy with the same mtime and size, renamed over the file: another inode.
    const copied = join(source, 'b', 'c', 'f1');
    await copyFile(copied, `${copied}.tmp`);
    setMtimeNs(`${copied}.tmp`, (await stat(copied, { bigint: true })).mtimeNs);
    await rename(`${copied}.tmp`, copied);
    const replaced = await createSnapshot(repository, [source], { time: later() });
    assert.equal(replaced.filesRead, 1);
  });

  it('reads again a file that changed within the racy window before the parent run started', async () => {
    const source = await sourceTree(4);
    const path = join(source, 'a', 'f0');
    const changed = (await stat(path, { bigint: true })).ctimeNs;
    const repository = await open(fresh('repo'));
    // The parent run started in the same second as f0's last change: f0 could have changed again,
    // after it was read, without its ctime moving.
    const racyStart = new Date(Number(changed / 1_000_000n) + 500);
    // The other files were written after f0, so they too changed within the window.
    await createSnapshot(repository, [source], { time: racyStart });
    const next = await createSnapshot(repository, [source], { time: later() });
    assert.equal(next.filesRead, 4, 'none trusted');
    const after = await createSnapshot(repository, [source], { time: later() });
    assert.equal(after.filesRead, 0, 'trusted once a run started well after the change');
  });

  it('compares against --parent when given, and reads everything with no parent', async () => {
    const source = await sourceTree(4);
    const repository = await open(fresh('repo'));
    const first = await createSnapshot(repository, [source], { time: later() });
    // The latest snapshot is of other paths: not a parent by default, but one when named.
    await createSnapshot(repository, [await sourceTree(1)], { time: later() });
    const named = await createSnapshot(repository, [source], { parent: first.id, time: later() });
    assert.equal(named.parent, first.id);
    assert.equal(named.filesRead, 0);
    const none = await createSnapshot(repository, [source], { parent: null, time: later() });
    assert.equal(none.parent, null);
    assert.equal(none.filesRead, 4);
  });
});
