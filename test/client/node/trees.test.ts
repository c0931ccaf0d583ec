// Real file trees through createBackup and restoreBackup (src/client/node/archive-fs.ts,
// entry-metadata.ts, extract.ts; docs/FORMAT.md §6, docs/BACKUP.md "Back up and restore" and
// "Incomplete backups"): exact times, hard links, names that are not UTF-8, holes, owners, entries
// that cannot be read, files changed while read, mount points, and a copy of a real tree.
// The tests run as root, so "unreadable" is made real by running the CLI as `nobody` (spawn's uid
// and gid options) over a tree with a mode-000 file and directory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listBackups } from '../../../src/client/backup/backups.ts';
import { planArchive } from '../../../src/client/node/archive-fs.ts';
import { createBackup, restoreBackup } from '../../../src/client/node/backup.ts';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { ExitCode } from '../../../src/errors.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { runCli } from '../../helpers/cli.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
let work: string;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-trees-test-'));
});
after(() => execFileSync('rm', ['-rf', work])); // rm(1) copes with paths beyond PATH_MAX; fs.rm does not

/** `ns` nanoseconds as decimal seconds for touch(1), e.g. -1.500000000. */
function decimalSeconds(ns: bigint): string {
  const magnitude = ns < 0n ? -ns : ns;
  return `${ns < 0n ? '-' : ''}${magnitude / 1_000_000_000n}.${String(magnitude % 1_000_000_000n).padStart(9, '0')}`;
}

/** Backs `source` up into a fresh store and restores it into a fresh directory. */
async function roundTrip(source: string, options: { compress?: boolean } = {}) {
  const store = new DirectoryBlobStore(fresh('store'));
  const created = await createBackup([source], { key, store, compress: options.compress ?? false });
  const to = fresh('restored');
  const restored = await restoreBackup({ key, store, to });
  return { created, restored, to, store };
}

describe('real trees', () => {
  it('restores mtimes to the exact microsecond, before 1970 and after', async () => {
    const source = fresh('times');
    await mkdir(source);
    // Times the float conversion used to restore a microsecond early, and times before 1970 that
    // Node's utimes replaces by "now" when given as a negative number.
    const times = [
      1_600_000_000_123_456_789n,
      1_700_000_000_999_999_999n,
      1_234_567_890_000_001_000n,
      1_000_000_000_000_000n,
      0n,
      -1n,
      -1_000n,
      -1_500_000_000n,
      -86_400_000_000_000n,
      -2_000_000_000_654_321_987n,
      4_000_000_000_000_001_999n,
    ];
    for (let i = 0; i < 50; i++) times.push(1_700_000_000_000_000_000n + BigInt(i) * 7_777_777_777n);
    for (const [i, ns] of times.entries()) {
      const path = join(source, `f${i}`);
      await writeFile(path, `${i}`);
      // Set exactly (touch takes nanoseconds), independent of the code under test.
      execFileSync('touch', ['-m', '-d', `@${decimalSeconds(ns)}`, path]);
      assert.equal((await stat(path, { bigint: true })).mtimeNs, ns, `touch set ${ns}`);
    }
    const { to } = await roundTrip(source);
    for (const [i, ns] of times.entries()) {
      const mtime = (await stat(join(to, basename(source), `f${i}`), { bigint: true })).mtimeNs;
      // The microsecond is what Node can set (docs/FORMAT.md §6): floor to it, toward -infinity.
      const micro = ns >= 0n ? (ns / 1000n) * 1000n : -((-ns + 999n) / 1000n) * 1000n;
      assert.equal(mtime, micro, `f${i}: stored ${ns}, restored ${mtime}`);
    }
  });

  it('stores a hard-linked file once and restores its names as links to one inode', async () => {
    const source = fresh('links');
    await mkdir(join(source, 'sub'), { recursive: true });
    const content = nodeCrypto.randomBytes(300_000);
    await writeFile(join(source, 'a'), content, { mode: 0o640 });
    for (const name of ['b', 'sub/c', 'sub/d']) await link(join(source, 'a'), join(source, name));
    // A link outside the tree: the file inside still has nlink > 1, and is stored (once).
    await link(join(source, 'a'), join(work, `outside-${counter++}`));
    const { created, to } = await roundTrip(source);
    assert.ok(created.size < 2 * content.length, `one copy stored, not four (${created.size} bytes)`);
    assert.equal(created.plan.contentBytes, content.length);
    const restored = join(to, basename(source));
    const inodes = await Promise.all(['a', 'b', 'sub/c', 'sub/d'].map((n) => lstat(join(restored, n))));
    assert.deepEqual(new Set(inodes.map((i) => i.ino)).size, 1);
    assert.equal(inodes[0]!.nlink, 4);
    assert.equal(inodes[0]!.mode & 0o7777, 0o640);
    assert.deepEqual(await readFile(join(restored, 'sub/d')), Buffer.from(content));
    assert.deepEqual((await compareTrees(source, restored)).differences, []);
  });

  it('keeps names that are not UTF-8 as their exact bytes', async () => {
    const source = fresh('names');
    await mkdir(source);
    const odd = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1: not UTF-8
    const dir = Buffer.concat([Buffer.from(`${source}/`), odd]);
    await mkdir(dir);
    await writeFile(Buffer.concat([dir, Buffer.from('/f')]), 'inside');
    await symlink(odd, Buffer.concat([Buffer.from(`${source}/`), Buffer.from('link-'), odd]));
    await writeFile(join(source, 'plain 📷'), 'plain');
    const { created, to } = await roundTrip(source);
    assert.equal(created.complete, true);
    const restored = Buffer.from(`${to}/${basename(source)}/`);
    const names = (await readdir(restored, { encoding: 'buffer' })).map((n) => n.toString('hex')).sort();
    const expected = [odd, Buffer.concat([Buffer.from('link-'), odd]), Buffer.from('plain 📷')];
    assert.deepEqual(names, expected.map((n) => n.toString('hex')).sort());
    assert.equal(await readFile(Buffer.concat([restored, odd, Buffer.from('/f')]), 'utf8'), 'inside');
  });

  it('restores long zero runs as holes, with the same bytes', async () => {
    const source = fresh('sparse');
    await mkdir(source);
    const path = join(source, 'disk.img');
    const size = 64 * 1024 * 1024;
    await writeFile(path, 'head');
    await truncate(path, size);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from('middle'), 0, 6, 20 * 1024 * 1024 + 3);
    writeSync(fd, Buffer.from('tail'), 0, 4, size - 4);
    closeSync(fd);
    const { to } = await roundTrip(source, { compress: true });
    const restored = join(to, basename(source), 'disk.img');
    const info = await stat(restored);
    assert.equal(info.size, size);
    assert.ok(info.blocks * 512 < 1024 * 1024, `allocated ${info.blocks * 512} bytes of ${size}`);
    assert.deepEqual((await compareTrees(source, join(to, basename(source)))).differences, []);
  });

  it('restores owners when restoring as root', { skip: process.getuid?.() !== 0 && 'not root' }, async () => {
    const source = fresh('owners');
    await mkdir(join(source, 'd'), { recursive: true });
    await writeFile(join(source, 'd', 'f'), 'x', { mode: 0o4755 });
    await symlink('f', join(source, 'd', 'l'));
    await chown(join(source, 'd', 'f'), 1234, 5678);
    await chmod(join(source, 'd', 'f'), 0o4755); // chown cleared the set-uid bit
    await chown(join(source, 'd'), 4321, 8765);
    execFileSync('chown', ['-h', '2345:6789', join(source, 'd', 'l')]);
    const { to } = await roundTrip(source);
    const restored = join(to, basename(source), 'd');
    const [dir, file, sym] = await Promise.all([
      lstat(restored),
      lstat(join(restored, 'f')),
      lstat(join(restored, 'l')),
    ]);
    assert.deepEqual([dir.uid, dir.gid], [4321, 8765]);
    assert.deepEqual([file.uid, file.gid, file.mode & 0o7777], [1234, 5678, 0o4755]);
    assert.deepEqual([sym.uid, sym.gid], [2345, 6789]);
  });

  it('reports a file overwritten in place while it was read, and marks it so restore reports it too', async () => {
    const source = fresh('torn');
    await mkdir(source);
    const path = join(source, 'db');
    await writeFile(path, Buffer.alloc(4 * 1024 * 1024, 1));
    await writeFile(join(source, 'other'), 'steady');
    const store = new DirectoryBlobStore(fresh('store'));
    let overwritten = false;
    const created = await createBackup([source], {
      key,
      store,
      onProgress: () => {
        if (overwritten) return;
        overwritten = true;
        // Same size, in place, while the backup is between two reads of the file.
        const fd = openSync(path, 'r+');
        writeSync(fd, Buffer.alloc(4 * 1024 * 1024, 2), 0, 4 * 1024 * 1024, 0);
        closeSync(fd);
      },
    });
    assert.equal(created.complete, false);
    assert.deepEqual(created.problems, [{ path, reason: 'it changed while being read; stored as read' }]);
    const restored = await restoreBackup({ key, store, to: fresh('restored') });
    assert.deepEqual(restored.changed, [`${basename(source)}/db`]);
  });

  it('pads a file that shrank while it was read to its announced size, and reports it', async () => {
    const source = fresh('shrinking');
    await mkdir(source);
    const path = join(source, 'log');
    const size = 8 * 1024 * 1024;
    await writeFile(path, Buffer.alloc(size, 7));
    const store = new DirectoryBlobStore(fresh('store'));
    let truncated = false;
    const created = await createBackup([source], {
      key,
      store,
      onProgress: () => {
        if (truncated) return;
        truncated = true;
        execFileSync('truncate', ['-s', '1M', path]);
      },
    });
    assert.equal(created.problems.length, 1, JSON.stringify(created.problems));
    assert.equal(created.problems[0]!.path, path);
    assert.match(
      created.problems[0]!.reason,
      /^it shrank while being read; stored with zeros from byte \d+$/,
    );
    const to = fresh('restored');
    const restored = await restoreBackup({ key, store, to });
    assert.deepEqual(restored.changed, [`${basename(source)}/log`]);
    const content = await readFile(join(to, basename(source), 'log'));
    assert.equal(content.length, size);
    assert.deepEqual(content.subarray(0, 1024 * 1024), Buffer.alloc(1024 * 1024, 7));
    assert.ok(
      content.subarray(size - 1024 * 1024).every((b) => b === 0),
      'zeros past the new end',
    );
  });

  it('skips and reports what vanished after the scan or has a path too long, and backs up the rest', async () => {
    const source = fresh('gone');
    await mkdir(source);
    await writeFile(join(source, 'vanishing'), 'soon gone');
    await writeFile(join(source, 'kept'), 'kept');
    // Nested names whose path passes 4096 bytes: mkdir -p builds it one directory at a time. Names
    // of 255 bytes (the most Linux allows) make the one level that crosses 4096 bytes in the backup
    // also the first too long once restored under the longer restore directory (docs/BACKUP.md).
    const deep = Array.from({ length: 20 }, (_, i) => `${i}`.padStart(255, 'x')).join('/');
    execFileSync('mkdir', ['-p', deep], { cwd: source });
    const store = new DirectoryBlobStore(fresh('store'));
    const created = await createBackup([source], {
      key,
      store,
      onPlan: () => execFileSync('rm', [join(source, 'vanishing')]),
    });
    assert.equal(created.complete, false);
    const reasons = created.problems.map((p) => p.reason);
    assert.equal(created.problems.length, 2, JSON.stringify(created.problems));
    assert.ok(
      reasons.some((r) => /longer than 4096 bytes/.test(r)),
      JSON.stringify(reasons),
    );
    assert.deepEqual(
      created.problems.find((p) => p.path.endsWith('vanishing')),
      {
        path: join(source, 'vanishing'),
        reason: 'it disappeared while being backed up (ENOENT)',
      },
    );
    const to = fresh('restored');
    await restoreBackup({ key, store, to });
    assert.equal(await readFile(join(to, basename(source), 'kept'), 'utf8'), 'kept');
    assert.equal(existsSync(join(to, basename(source), 'vanishing')), false);
  });

  it('as an unprivileged user, skips unreadable entries by name and exits 8 (incomplete)', async () => {
    const source = fresh('unreadable');
    await mkdir(join(source, 'locked-dir'), { recursive: true });
    await writeFile(join(source, 'locked-dir', 'inside'), 'hidden');
    await writeFile(join(source, 'locked-file'), 'secret');
    await writeFile(join(source, 'open'), 'readable');
    await chmod(join(source, 'locked-file'), 0o000);
    await chmod(join(source, 'locked-dir'), 0o000);
    const storeDir = fresh('store');
    await mkdir(storeDir, { mode: 0o777 });
    await chmod(storeDir, 0o777);
    await chmod(work, 0o755);
    const keyFile = join(work, `key-${counter++}`);
    await writeFile(keyFile, key.format(), { mode: 0o644 });
    const nobody = { uid: 65534, gid: 65534 };
    const created = await runCli(
      ['backup', 'create', source, '--key-file', keyFile, '--to', storeDir],
      nobody,
    );
    assert.equal(created.code, ExitCode.incomplete, created.stderr);
    assert.match(created.stdout, /^[0-9a-f]{32}\n$/);
    assert.match(
      created.stderr,
      new RegExp(`could not back up '${join(source, 'locked-file')}': permission denied \\(EACCES\\)`),
    );
    assert.match(
      created.stderr,
      new RegExp(`could not back up '${join(source, 'locked-dir')}': permission denied \\(EACCES\\)`),
    );
    assert.match(created.stderr, /is incomplete: 2 entries could not be backed up/);
    const to = fresh('restored');
    const restored = await runCli([
      'backup',
      'restore',
      '--key-file',
      keyFile,
      '--from',
      storeDir,
      '--to',
      to,
    ]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(await readdir(join(to, basename(source))), ['open']);
  });

  it('keeps mount points but not the contents of virtual file systems, and of other ones with oneFileSystem', async () => {
    const devPts = await stat('/dev/pts').catch(() => null);
    const devShm = await stat('/dev/shm').catch(() => null);
    const dev = await stat('/dev');
    if (devPts === null || devShm === null || devPts.dev === dev.dev || devShm.dev === dev.dev) {
      return assert.fail('this test needs /dev/pts (devpts) and /dev/shm mounted inside /dev');
    }
    const plain = await planArchive(['/dev']);
    const paths = (plan: typeof plain) => plan.entries.map((e) => e.path);
    assert.ok(paths(plain).includes('dev/pts'), 'the mount point is kept');
    assert.ok(!paths(plain).some((p) => p.startsWith('dev/pts/')), 'devpts is not walked into');
    assert.deepEqual(
      plain.skipped.find((s) => s.path === '/dev/pts'),
      { path: '/dev/pts', reason: 'contents on the virtual file system devpts' },
    );
    const oneFs = await planArchive(['/dev'], { oneFileSystem: true });
    assert.ok(paths(oneFs).includes('dev/shm'));
    assert.deepEqual(
      oneFs.skipped.find((s) => s.path === '/dev/shm'),
      { path: '/dev/shm', reason: 'contents on another file system (--one-file-system)' },
    );
  });

  it('backup create --one-file-system warns about each mount point it does not walk into, and exits 0', async () => {
    const storeDir = fresh('store');
    const keyFile = join(work, `key-${counter++}`);
    await writeFile(keyFile, key.format());
    const created = await runCli([
      'backup',
      'create',
      '/dev',
      '--one-file-system',
      '--key-file',
      keyFile,
      '--to',
      storeDir,
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(
      created.stderr,
      /warning: skipped '\/dev\/shm' \(contents on another file system \(--one-file-system\)\)/,
    );
    assert.match(
      created.stderr,
      /warning: skipped '\/dev\/pts' \(contents on another file system \(--one-file-system\)\)/,
    );
    assert.match(created.stderr, /warning: skipped '\/dev\/null' \(not a file, directory or symlink\)/);
    assert.doesNotMatch(created.stderr, /incomplete/);
  });

  it('backs up and restores a copy of a real tree (node_modules packages and /usr/lib) faithfully', async () => {
    const source = fresh('real');
    await mkdir(source);
    const parts = [
      'node_modules/commander',
      'node_modules/typescript/lib',
      '/usr/lib/git-core',
      '/usr/lib/os-release',
    ];
    for (const part of parts.filter((p) => existsSync(p))) execFileSync('cp', ['-a', part, source]);
    const { created, to } = await roundTrip(source, { compress: true });
    assert.equal(created.complete, true, JSON.stringify(created.problems));
    const restored = join(to, basename(source));
    assert.deepEqual((await compareTrees(source, restored)).differences, []);
    // Exact to the microsecond, and links where the source has links.
    const walk = async (dir: string): Promise<string[]> =>
      (await readdir(dir, { recursive: true })).map(String);
    const names = await walk(source);
    assert.ok(names.length > 100, `${names.length} entries`);
    const inodesOf = async (root: string) => {
      const groups = new Map<bigint, string[]>();
      for (const name of names) {
        const info = await lstat(join(root, name), { bigint: true });
        if (info.isFile()) groups.set(info.ino, [...(groups.get(info.ino) ?? []), name]);
        if (!info.isSymbolicLink()) {
          const other = await lstat(join(root === source ? restored : source, name), { bigint: true });
          assert.equal(info.mtimeNs / 1000n, other.mtimeNs / 1000n, name);
        }
      }
      return [...groups.values()].map((g) => g.sort().join(' ')).sort();
    };
    assert.deepEqual(await inodesOf(restored), await inodesOf(source));
  });
});

describe('a directory store with things that are not backups', () => {
  it('lists the backups, and warns about a dangling symlink and an id with an impossible date', async () => {
    const storeDir = fresh('store');
    const store = new DirectoryBlobStore(storeDir);
    const source = fresh('small');
    await writeFile(source, 'small');
    const { id } = await createBackup([source], { key, store });
    await symlink('/nonexistent/target.srb', join(storeDir, '20261126T185700.123Z-3f9a1c2b.srb'));
    await writeFile(join(storeDir, '20261399T250000.000Z-00000000.srb'), 'not a backup');
    await writeFile(join(storeDir, '20260230T000000.000Z-00000000.srb'), 'not a backup either');
    await mkdir(join(storeDir, '20260101T000000.000Z-00000000.srb'));
    const ignored: string[] = [];
    const backups = await listBackups(store, (name, reason) => ignored.push(`${name}: ${reason}`));
    assert.deepEqual(
      backups.map((b) => b.id),
      [id],
    );
    assert.deepEqual(ignored.sort(), [
      '20260101T000000.000Z-00000000.srb: not a file',
      '20260230T000000.000Z-00000000.srb: not a backup id (YYYYMMDDTHHMMSS.mmmZ-xxxxxxxx with a real date)',
      '20261126T185700.123Z-3f9a1c2b.srb: cannot be read (ENOENT)',
      '20261399T250000.000Z-00000000.srb: not a backup id (YYYYMMDDTHHMMSS.mmmZ-xxxxxxxx with a real date)',
    ]);
    const listed = await runCli(['backup', 'list', '--from', storeDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${id.replace('.', '\\.')} `));
    assert.match(
      listed.stderr,
      /warning: ignored '20261126T185700\.123Z-3f9a1c2b\.srb' in .*: cannot be read \(ENOENT\)/,
    );
    assert.match(listed.stderr, /warning: ignored '20261399T250000\.000Z-00000000\.srb'/);
  });
});
