// Real trees through createSnapshot and restoreSnapshot (src/client/node/repository-backup.ts,
// src/client/repository/tree.ts; docs/FORMAT.md §12.7 "Trees", §6 for what a tree keeps): exact
// mtimes before and after 1970, owners and set-id modes, hard links stored once, names and
// symlink targets that are not UTF-8, holes, what cannot be read or is not a file, mount points,
// files torn while read, and trees that are the same bytes for the same directory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { RepositoryReader } from '../../../src/client/repository/reader.ts';
import { Repository } from '../../../src/client/repository/repository.ts';
import { decodeTree, encodeTree, type TreeEntry } from '../../../src/client/repository/tree.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { DamagedBackupError } from '../../../src/errors.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { setMtimeNs } from '../../helpers/file-times.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
let work: string;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);
const isRoot = process.getuid?.() === 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-tree-test-'));
});
after(() => execFileSync('rm', ['-rf', work])); // rm(1) copes with paths beyond PATH_MAX

const open = () => Repository.openOrCreate(new DirectoryBlobStore(fresh('repo')), key, nodeCrypto);

/** Snapshots `source` into a fresh repository and restores it into a fresh directory. */
async function roundTrip(source: string) {
  const repository = await open();
  const created = await createSnapshot(repository, [source]);
  const to = fresh('restored');
  const restored = await restoreSnapshot(repository, { to, id: created.id });
  return { repository, created, restored, to, root: join(to, basename(source)) };
}

describe('snapshot trees keep what archive v2 keeps', () => {
  it('restores mtimes to the exact microsecond, before 1970 and after', async () => {
    const source = fresh('times');
    await mkdir(source);
    const times = [
      1_600_000_000_123_456_789n,
      1_700_000_000_999_999_999n,
      0n,
      -1n,
      -1_500_000_000n,
      -2_000_000_000_654_321_987n,
      4_000_000_000_000_001_999n,
    ];
    for (const [i, ns] of times.entries()) {
      const path = join(source, `f${i}`);
      await writeFile(path, `${i}`);
      setMtimeNs(path, ns);
    }
    const { root } = await roundTrip(source);
    for (const [i, ns] of times.entries()) {
      const mtime = (await stat(join(root, `f${i}`), { bigint: true })).mtimeNs;
      // The microsecond is what Node can set (docs/FORMAT.md §6): floor to it, toward -infinity.
      const micro = ns >= 0n ? (ns / 1000n) * 1000n : -((-ns + 999n) / 1000n) * 1000n;
      assert.equal(mtime, micro, `f${i}: stored ${ns}, restored ${mtime}`);
    }
  });

  it('restores owners and set-id modes when restoring as root', { skip: !isRoot && 'not root' }, async () => {
    const source = fresh('owners');
    await mkdir(join(source, 'd'), { recursive: true });
    await writeFile(join(source, 'd', 'f'), 'x');
    await symlink('f', join(source, 'd', 'l'));
    await chown(join(source, 'd', 'f'), 1234, 5678);
    await chmod(join(source, 'd', 'f'), 0o4755); // after chown, which clears the set-uid bit
    await chown(join(source, 'd'), 4321, 8765);
    await chmod(join(source, 'd'), 0o2750);
    execFileSync('chown', ['-h', '2345:6789', join(source, 'd', 'l')]);
    const { root } = await roundTrip(source);
    const [dir, file, sym] = await Promise.all([
      lstat(join(root, 'd')),
      lstat(join(root, 'd', 'f')),
      lstat(join(root, 'd', 'l')),
    ]);
    assert.deepEqual([dir.uid, dir.gid, dir.mode & 0o7777], [4321, 8765, 0o2750]);
    assert.deepEqual([file.uid, file.gid, file.mode & 0o7777], [1234, 5678, 0o4755]);
    assert.deepEqual([sym.uid, sym.gid], [2345, 6789]);
  });

  it('reads a hard-linked file once and restores its names as links to one inode', async () => {
    const source = fresh('links');
    await mkdir(join(source, 'sub'), { recursive: true });
    const content = nodeCrypto.randomBytes(300_000);
    await writeFile(join(source, 'a'), content, { mode: 0o640 });
    for (const name of ['b', 'sub/c', 'sub/d']) await link(join(source, 'a'), join(source, name));
    // A link outside the tree: the file inside still has nlink > 1, and is stored (once).
    await link(join(source, 'a'), join(work, `outside-${counter++}`));
    const { repository, created, root } = await roundTrip(source);
    assert.equal(created.filesRead, 1, 'one read for four names');
    assert.equal(created.filesReused, 3);
    assert.equal(created.files, 4);
    assert.equal(created.size, content.length, 'its content counted once');
    const inodes = await Promise.all(['a', 'b', 'sub/c', 'sub/d'].map((n) => lstat(join(root, n))));
    assert.equal(new Set(inodes.map((i) => i.ino)).size, 1);
    assert.equal(inodes[0]!.nlink, 4);
    assert.equal(inodes[0]!.mode & 0o7777, 0o640);
    assert.deepEqual(await readFile(join(root, 'sub/d')), Buffer.from(content));
    // Restoring only `sub`, whose names link to a file outside it: they come back as one file.
    const to = fresh('partial');
    await restoreSnapshot(repository, { to, id: created.id, path: `${basename(source)}/sub` });
    const [c, d] = await Promise.all(['c', 'd'].map((n) => lstat(join(to, 'sub', n))));
    assert.equal(c!.ino, d!.ino);
    assert.deepEqual(await readFile(join(to, 'sub', 'c')), Buffer.from(content));
  });

  it('keeps names and symlink targets that are not UTF-8 as their exact bytes', async () => {
    const source = fresh('names');
    await mkdir(source);
    const odd = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1: not UTF-8
    const inSource = (...parts: Buffer[]) => Buffer.concat([Buffer.from(`${source}/`), ...parts]);
    await mkdir(inSource(odd));
    await writeFile(inSource(odd, Buffer.from('/f')), 'inside');
    await symlink(odd, inSource(Buffer.from('link-'), odd));
    await writeFile(join(source, 'plain 📷'), 'plain');
    const { created, to } = await roundTrip(source);
    assert.equal(created.complete, true);
    const restored = Buffer.from(`${to}/${basename(source)}/`);
    const names = (await readdir(restored, { encoding: 'buffer' })).map((n) => n.toString('hex')).sort();
    const expected = [odd, Buffer.concat([Buffer.from('link-'), odd]), Buffer.from('plain 📷')];
    assert.deepEqual(names, expected.map((n) => n.toString('hex')).sort());
    assert.equal(await readFile(Buffer.concat([restored, odd, Buffer.from('/f')]), 'utf8'), 'inside');
    const target = await readlink(Buffer.concat([restored, Buffer.from('link-'), odd]), {
      encoding: 'buffer',
    });
    assert.deepEqual(target, odd);
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
    const { root } = await roundTrip(source);
    const info = await stat(join(root, 'disk.img'));
    assert.equal(info.size, size);
    assert.ok(info.blocks * 512 < 1024 * 1024, `allocated ${info.blocks * 512} bytes of ${size}`);
    assert.deepEqual((await compareTrees(source, root)).differences, []);
  });

  it('names what it could not back up and what it left out by design, and backs up the rest', async () => {
    const source = fresh('partial');
    await mkdir(source);
    await writeFile(join(source, 'kept'), 'kept');
    execFileSync('mkfifo', [join(source, 'pipe')]);
    // Nested names whose path in the snapshot passes 4096 bytes (mkdir -p builds it level by level).
    const deep = Array.from({ length: 20 }, (_, i) => `${i}`.padStart(255, 'x')).join('/');
    execFileSync('mkdir', ['-p', deep], { cwd: source });
    const { created, root } = await roundTrip(source);
    assert.equal(created.complete, false);
    assert.equal(created.problems.length, 1, JSON.stringify(created.problems));
    assert.match(created.problems[0]!.reason, /longer than 4096 bytes/);
    assert.deepEqual(created.skipped, [
      { path: join(source, 'pipe'), reason: 'not a file, directory or symlink' },
    ]);
    assert.equal(await readFile(join(root, 'kept'), 'utf8'), 'kept');
    assert.deepEqual((await readdir(root)).sort(), ['kept', deep.split('/')[0]!]);
  });

  it('reports a file overwritten in place while it was read, and its restore reports it too', async () => {
    const source = fresh('torn');
    await mkdir(source);
    const path = join(source, 'db');
    await writeFile(path, Buffer.alloc(4 * 1024 * 1024, 1));
    const repository = await open();
    let overwritten = false;
    const created = await createSnapshot(repository, [source], {
      onBytes: () => {
        if (overwritten) return;
        overwritten = true;
        // Same size, in place, while the backup is between two reads of the file.
        const fd = openSync(path, 'r+');
        writeSync(fd, Buffer.alloc(4 * 1024 * 1024, 2), 0, 4 * 1024 * 1024, 0);
        closeSync(fd);
      },
    });
    assert.deepEqual(created.problems, [{ path, reason: 'it changed while being read; stored as read' }]);
    const restored = await restoreSnapshot(repository, { to: fresh('restored'), id: created.id });
    assert.deepEqual(restored.changed, [`${basename(source)}/db`]);
    // A torn file is never trusted as unchanged: the next backup reads it again.
    const next = await createSnapshot(repository, [source]);
    assert.equal(next.filesRead, 1);
  });

  it('keeps mount points as empty directories and walks no other file system with oneFileSystem', async () => {
    const [dev, shm] = await Promise.all([stat('/dev'), stat('/dev/shm').catch(() => null)]);
    if (shm === null || shm.dev === dev.dev)
      return assert.fail('this test needs /dev/shm mounted inside /dev');
    const repository = await open();
    const created = await createSnapshot(repository, ['/dev'], { oneFileSystem: true });
    assert.deepEqual(
      created.skipped.find((s) => s.path === '/dev/shm'),
      { path: '/dev/shm', reason: 'contents on another file system (--one-file-system)' },
    );
    const reader = await RepositoryReader.open(repository);
    const [devEntry] = (await reader.tree(created.tree)).entries;
    const shmEntry = (await reader.tree(devEntry!.tree!)).entries.find((e) => e.name === 'shm');
    assert.equal(shmEntry?.kind, 'dir');
    assert.deepEqual((await reader.tree(shmEntry.tree!)).entries, []);
  });
});

describe('tree objects', () => {
  it('are the same bytes for the same directory, so a second snapshot stores no tree', async () => {
    const source = fresh('same');
    await mkdir(join(source, 'd'), { recursive: true });
    await writeFile(join(source, 'd', 'f'), 'f');
    await writeFile(join(source, 'g'), 'g');
    const repository = await open();
    const first = await createSnapshot(repository, [source], { parent: null });
    const second = await createSnapshot(repository, [source], { parent: null });
    assert.equal(second.tree, first.tree);
    assert.equal(second.filesRead, 2, 'read again (no parent), yet the same trees');
    setMtimeNs(join(source, 'd', 'f'), 1_000_000_000_000_000_000n);
    const third = await createSnapshot(repository, [source]);
    assert.notEqual(third.tree, first.tree, 'an mtime is part of the tree');
  });

  it('encode canonically: entries in byte order of their names, fields in one order', () => {
    const file = (name: string, extra: Partial<TreeEntry> = {}): TreeEntry => ({
      content: [],
      size: 0,
      device: '1',
      inode: '2',
      ctimeNs: '3',
      mtimeNs: '-4',
      gid: 0,
      uid: 0,
      mode: 0o644,
      kind: 'file',
      name,
      ...extra,
    });
    // "é" (c3 a9) sorts after "z" by bytes, though before it in no other usual order but UTF-8's.
    const entries = [file('é'), file('z'), file('\ufffd', { rawName: 'e9' }), file('a')];
    const bytes = encodeTree({ entries });
    const text = new TextDecoder().decode(bytes);
    assert.deepEqual(
      decodeTree(bytes, 'tree').entries.map((e) => e.rawName ?? e.name),
      ['a', 'z', 'é', 'e9'],
    );
    assert.match(
      text,
      /^\{"entries":\[\{"name":"a","kind":"file","mode":420,"uid":0,"gid":0,"mtimeNs":"-4",/,
    );
    assert.deepEqual(
      encodeTree(decodeTree(bytes, 'tree')),
      bytes,
      're-encoding a parsed tree gives its bytes',
    );
  });

  it('refuse, as damage, any tree a correct writer would not write', () => {
    const good = {
      name: 'f',
      kind: 'file',
      mode: 420,
      uid: 0,
      gid: 0,
      mtimeNs: '1',
      ctimeNs: '1',
      inode: '1',
      device: '1',
      size: 0,
      content: [],
    };
    const bad: [string, unknown][] = [
      ['a name with a slash', { ...good, name: 'a/b' }],
      ['a name that is ..', { ...good, name: '..' }],
      ['a missing owner', { ...good, uid: undefined }],
      ['an unknown field', { ...good, extra: 1 }],
      ['a field of another kind', { ...good, tree: '00'.repeat(32) }],
      ['a time with a leading zero', { ...good, mtimeNs: '01' }],
      ['a mode above 0o7777', { ...good, mode: 0o10000 }],
      ['a link count of 1', { ...good, links: 1 }],
      ['a raw name that is UTF-8', { ...good, name: 'f', rawName: '66' }],
      ['a raw name whose text is not its readable form', { ...good, name: 'x', rawName: 'e9' }],
      [
        'a symlink with an empty target',
        { name: 'l', kind: 'symlink', mode: 0o777, uid: 0, gid: 0, mtimeNs: '1', target: '' },
      ],
    ];
    for (const [what, entry] of bad) {
      const body = new TextEncoder().encode(JSON.stringify({ entries: [entry] }));
      assert.throws(() => decodeTree(body, 'tree'), DamagedBackupError, what);
    }
    const twice = new TextEncoder().encode(JSON.stringify({ entries: [good, good] }));
    assert.throws(() => decodeTree(twice, 'tree'), /appears twice/);
  });
});
