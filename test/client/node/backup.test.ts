// Backup and restore of real trees on disk (src/client/node/backup.ts, extract.ts; docs/BACKUP.md
// "Back up and restore"): contents, modes, mtimes and symlinks survive; a damaged or forged backup, a wrong key or a
// non-empty destination leave nothing behind.
import assert from 'node:assert/strict';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChatdBlobStore } from '../../../src/client/chatd/blob-store.ts';
import { createBackup, restoreBackup } from '../../../src/client/node/backup.ts';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createWorkerCrypto } from '../../../src/client/node/worker-crypto.ts';
import { compareTrees } from '../../../src/demo/compare-trees.ts';
import { DamagedBackupError, ExitCode, UsageError, WrongKeyError } from '../../../src/errors.ts';
import { writeArchive } from '../../../src/format/archive.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { encryptStream } from '../../../src/format/stream.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { startChatd } from '../../chatd/helpers.ts';
import { runCli } from '../../helpers/cli.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
let work: string;
let source: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-backup-test-'));
  source = join(work, 'chat');
  await mkdir(join(source, 'media', 'deep'), { recursive: true });
  await writeFile(join(source, 'messages.db'), nodeCrypto.randomBytes(200_000));
  await writeFile(join(source, 'media', 'deep', 'photo.jpg'), nodeCrypto.randomBytes(70_001), {
    mode: 0o640,
  });
  await writeFile(join(source, 'empty.txt'), '');
  await chmod(join(source, 'empty.txt'), 0o400);
  await symlink('messages.db', join(source, 'latest'));
  await symlink('/nonexistent/elsewhere', join(source, 'dangling'));
  await utimes(join(source, 'messages.db'), 1_600_000_000.123, 1_600_000_000.123);
  await chmod(join(source, 'media'), 0o750);
  await utimes(join(source, 'media'), 1_500_000_000, 1_500_000_000);
});
after(() => rm(work, { recursive: true, force: true }));

const storeAt = async (name: string) => new DirectoryBlobStore(join(work, name));
/** Entries of `work` that a failed restore must not leave: the destination and any temporary dir. */
const leftovers = async (parent: string, name: string) =>
  (await readdir(parent)).filter((n) => n.includes(name));

describe('createBackup and restoreBackup', () => {
  it('restores contents, modes, mtimes and symlinks exactly (uncompressed and compressed)', async () => {
    for (const compress of [false, true]) {
      const store = await storeAt(`store-${compress}`);
      const backup = await createBackup([source], { key, store, compress, chunkSize: 4096 });
      assert.match(backup.id, /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}$/);
      const to = join(work, `restored-${compress}`);
      const restored = await restoreBackup({ key, store, to });
      assert.equal(restored.id, backup.id);
      assert.equal(restored.contentBytes, 270_001);
      const comparison = await compareTrees(source, join(to, 'chat'));
      assert.deepEqual(comparison.differences, []);
      assert.equal(comparison.entries, 8);
      assert.equal(await readlink(join(to, 'chat', 'dangling')), '/nonexistent/elsewhere');
    }
  });

  it('restores the latest backup by default and a given one with id', async () => {
    const store = await storeAt('store-ids');
    const other = join(work, 'other.txt');
    await writeFile(other, 'first');
    const first = await createBackup([other], { key, store });
    await writeFile(other, 'second');
    await new Promise((ok) => setTimeout(ok, 5)); // ids carry the millisecond they were made in
    await createBackup([other], { key, store });
    await restoreBackup({ key, store, to: join(work, 'latest') });
    assert.equal(await readFile(join(work, 'latest', 'other.txt'), 'utf8'), 'second');
    await restoreBackup({ key, store, id: first.id, to: join(work, 'first') });
    assert.equal(await readFile(join(work, 'first', 'other.txt'), 'utf8'), 'first');
  });

  it('refuses a non-empty destination unless forced, then replaces same-named entries only', async () => {
    const store = await storeAt('store-force');
    await createBackup([source], { key, store });
    const to = join(work, 'busy');
    await mkdir(join(to, 'chat'), { recursive: true });
    await writeFile(join(to, 'chat', 'stale'), 'old');
    await writeFile(join(to, 'keep-me'), 'mine');
    await assert.rejects(
      restoreBackup({ key, store, to }),
      (e) => e instanceof UsageError && /not empty/.test(e.message),
    );
    assert.equal(await readFile(join(to, 'chat', 'stale'), 'utf8'), 'old');
    await restoreBackup({ key, store, to, force: true });
    assert.deepEqual((await compareTrees(source, join(to, 'chat'))).differences, []);
    assert.equal(await readFile(join(to, 'keep-me'), 'utf8'), 'mine');
  });

  describe('damage matrix: nothing is written', () => {
    const damages: [string, (blob: Buffer) => Buffer, new (...args: never[]) => Error, RegExp][] = [
      ['truncated at a chunk boundary', (b) => b.subarray(0, 93 + 4112 * 3), DamagedBackupError, /truncated/],
      ['truncated mid-chunk', (b) => b.subarray(0, b.length - 100), DamagedBackupError, /chunk \d+ failed/],
      [
        'a flipped ciphertext bit in the last chunk',
        (b) => flip(b, b.length - 30),
        DamagedBackupError,
        /chunk \d+ failed/,
      ],
      ['a flipped header MAC bit', (b) => flip(b, 70), DamagedBackupError, /header/],
      [
        'chunks swapped',
        (b) =>
          Buffer.concat([
            b.subarray(0, 93),
            b.subarray(93 + 4112, 93 + 8224),
            b.subarray(93, 93 + 4112),
            b.subarray(93 + 8224),
          ]),
        DamagedBackupError,
        /chunk 0 failed/,
      ],
      [
        'appended bytes',
        (b) => Buffer.concat([b, Buffer.from('extra')]),
        DamagedBackupError,
        /chunk \d+ failed/,
      ],
    ];
    // Every way a restore reads: plain and deflated archives, AES-GCM on the main thread and on
    // worker threads. A stream error that escaped as an 'error' event would kill this test process.
    const modes: [string, { compress: boolean; threads: boolean }][] = [
      ['uncompressed', { compress: false, threads: false }],
      ['compressed', { compress: true, threads: false }],
      ['compressed, worker threads', { compress: true, threads: true }],
    ];
    for (const [mode, { compress, threads }] of modes) {
      for (const [what, damage, type, message] of damages) {
        it(`${mode}, ${what}: ${type.name}`, async () => {
          const store = await storeAt(`store-damage-${mode}-${what}`);
          const backup = await createBackup([source], { key, store, compress, chunkSize: 4096 });
          const blob = join(store.location, `${backup.id}.srb`);
          await writeFile(blob, damage(await readFile(blob)));
          const parent = join(work, `dest-${mode}-${what}`.replaceAll(' ', '-'));
          await mkdir(parent);
          const workers = threads ? createWorkerCrypto(2) : undefined;
          try {
            await assert.rejects(
              restoreBackup({ key, store, to: join(parent, 'out'), crypto: workers }),
              (e) => e instanceof type && message.test((e as Error).message),
            );
          } finally {
            await workers?.close();
          }
          assert.deepEqual(await readdir(parent), []);
        });
      }
    }

    it('compressed, through ChatD blob storage, a flipped bit: DamagedBackupError', async () => {
      // A real ChatD server in this process (test/chatd/helpers.ts), reached over its socket.
      const chatd = await startChatd();
      try {
        const store = new ChatdBlobStore(await chatd.join('damage'));
        const backup = await createBackup([source], { key, store, compress: true, chunkSize: 4096 });
        const parts: Uint8Array[] = [];
        for await (const part of store.get(`${backup.id}.srb`)) parts.push(part);
        const damaged = flip(Buffer.concat(parts), 93 + 4112 * 10 + 100);
        await store.delete(`${backup.id}.srb`);
        await store.put(
          `${backup.id}.srb`,
          (async function* () {
            yield damaged;
          })(),
        );
        const parent = join(work, 'dest-chatd');
        await mkdir(parent);
        await assert.rejects(
          restoreBackup({ key, store, to: join(parent, 'out') }),
          (e) => e instanceof DamagedBackupError && /chunk 10 failed/.test(e.message),
        );
        assert.deepEqual(await readdir(parent), []);
      } finally {
        await chatd.close();
      }
    });

    it('a deflated body that does not inflate, sealed with the right key: DamagedBackupError', async () => {
      const store = await storeAt('store-bad-deflate');
      async function* once() {
        yield Buffer.concat([Buffer.from('SRAR\x01\x01', 'latin1'), Buffer.from('not deflate data')]);
      }
      await store.put(
        '20260101T000000.000Z-00000002.srb',
        encryptStream(once(), key, { crypto: nodeCrypto }),
      );
      const parent = join(work, 'dest-bad-deflate');
      await mkdir(parent);
      await assert.rejects(
        restoreBackup({ key, store, to: join(parent, 'out') }),
        (e) => e instanceof DamagedBackupError && /compressed body does not inflate/.test(e.message),
      );
      assert.deepEqual(await readdir(parent), []);
    });

    it('a wrong key: WrongKeyError before anything is read past the header', async () => {
      const store = await storeAt('store-wrong-key');
      await createBackup([source], { key, store });
      const parent = join(work, 'dest-wrong-key');
      await mkdir(parent);
      const other = BackupKey.generate(nodeCrypto.randomBytes);
      await assert.rejects(restoreBackup({ key: other, store, to: join(parent, 'out') }), WrongKeyError);
      assert.deepEqual(await readdir(parent), []);
    });

    it('an archive forged with the right key that escapes the destination', async () => {
      const store = await storeAt('store-forged');
      // A well-formed archive needs the real writer, which refuses '..'; so forge the bytes by hand:
      // "SRAR" v1, no compression, then a file entry at ../escaped (spec layout).
      const path = Buffer.from('../escaped');
      const entry = Buffer.concat([
        Buffer.from([1, 0, path.length]),
        path,
        Buffer.from([1, 0xa4]),
        Buffer.alloc(8),
        Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]),
        Buffer.from('x'),
      ]);
      const archive = Buffer.concat([
        Buffer.from('SRAR\x01\x00', 'latin1'),
        entry,
        Buffer.from([0]),
        Buffer.alloc(7),
        Buffer.from([1]),
        Buffer.alloc(7),
        Buffer.from([1]),
      ]);
      async function* once() {
        yield archive;
      }
      await store.put(
        '20260101T000000.000Z-00000000.srb',
        encryptStream(once(), key, { crypto: nodeCrypto }),
      );
      const parent = join(work, 'dest-forged');
      await mkdir(join(parent, 'inner'), { recursive: true });
      await assert.rejects(
        restoreBackup({ key, store, to: join(parent, 'inner', 'out') }),
        /outside the destination/,
      );
      assert.deepEqual(await readdir(parent), ['inner']);
      assert.deepEqual(await readdir(join(parent, 'inner')), []);
    });
  });

  it('an entry whose name or path is too long here is left out and named; the rest is restored', async () => {
    // Names a backup made on another system may hold (docs/BACKUP.md "Incomplete restores"): a file
    // name of 300 bytes (Linux allows 255), a directory of 256 with a file in it, a hard link to
    // the long-named file, and a chain of directories deeper than PATH_MAX (4096 bytes with its NUL)
    // under the restore's temporary directory, though each path is within the archive's 4096 bytes.
    const parent = join(work, 'dest-long');
    await mkdir(parent);
    const to = join(parent, 'out');
    // The temporary directory a restore into `to` uses (src/temporaries.ts), with its trailing '/'.
    const tempLength = `${parent}/.out.strongroom-restore-${process.pid}-${'0'.repeat(8)}-${'0'.repeat(12)}/`
      .length;
    const levels = Array.from({ length: 16 }, (_, i) => `${i}`.padStart(250, 'd'));
    const chain = levels.map((_, i) => `chat/deep/${levels.slice(0, i + 1).join('/')}`);
    const tooDeep = chain.find((path) => tempLength + path.length >= 4096);
    assert.ok(
      tooDeep !== undefined && tooDeep.length < 4096,
      'the chain passes PATH_MAX only under the restore',
    );
    const longFile = `chat/${'n'.repeat(300)}`;
    const longDir = `chat/${'e'.repeat(256)}`;
    const base = { mode: 0o755, mtimeNs: 1_600_000_000_000_000_000n };
    const file = (path: string, text: string) => ({
      ...base,
      type: 'file' as const,
      path,
      mode: 0o644,
      size: Buffer.byteLength(text),
      content: (async function* () {
        yield Buffer.from(text);
      })(),
    });
    const directory = (path: string) => ({ ...base, type: 'directory' as const, path });
    async function* entries() {
      yield directory('chat');
      yield file('chat/before.txt', 'before');
      yield file(longFile, 'a name too long for ext4');
      yield { ...base, type: 'hardlink' as const, path: 'chat/link', target: longFile };
      yield directory(longDir);
      yield file(`${longDir}/inside.txt`, 'left out with its directory');
      yield directory('chat/deep');
      for (const path of chain) yield directory(path);
      yield file(`${chain.at(-1)}/bottom.txt`, 'left out with the directory too deep');
      yield file('chat/after.txt', 'after');
    }
    const store = await storeAt('store-long-names');
    await store.put(
      '20260103T000000.000Z-00000001.srb',
      encryptStream(writeArchive(entries()), key, { crypto: nodeCrypto }),
    );
    const restored = await restoreBackup({ key, store, to });
    const tooLong = 'its name or path is too long for this file system (ENAMETOOLONG)';
    assert.equal(restored.complete, false);
    assert.deepEqual(restored.problems, [
      { path: longFile, reason: tooLong },
      { path: 'chat/link', reason: `the file it is a link to ('${longFile}') was left out` },
      { path: longDir, reason: tooLong },
      { path: tooDeep, reason: tooLong },
    ]);
    // What was restored is whole; what was left out is nowhere, and no temporary stays behind.
    assert.equal(await readFile(join(to, 'chat', 'before.txt'), 'utf8'), 'before');
    assert.equal(await readFile(join(to, 'chat', 'after.txt'), 'utf8'), 'after');
    assert.deepEqual((await readdir(join(to, 'chat'))).sort(), ['after.txt', 'before.txt', 'deep']);
    const deepest = join(to, chain[chain.indexOf(tooDeep) - 1]!);
    assert.deepEqual(await readdir(deepest), []);
    assert.deepEqual(await readdir(parent), ['out']);
    // Counted: the directories, files and links restored, and their bytes.
    assert.equal(restored.entries, 4 + chain.indexOf(tooDeep));
    assert.equal(restored.contentBytes, 'before'.length + 'after'.length);
    // The CLI names each entry left out and exits 8 (incomplete), as `backup create` does.
    const keyFile = join(work, 'long-names.key');
    await writeFile(keyFile, key.format());
    const cli = await runCli([
      'backup',
      'restore',
      '--key-file',
      keyFile,
      '--from',
      join(work, 'store-long-names'),
      '--to',
      join(parent, 'by-cli'),
    ]);
    assert.equal(cli.code, ExitCode.incomplete, cli.stderr);
    assert.ok(cli.stderr.includes(`could not restore '${longFile}': ${tooLong}`), cli.stderr);
    // (Which level of the chain passes PATH_MAX depends on the temporary's length, so on the pid.)
    assert.match(cli.stderr, /could not restore 'chat\/deep\/[d0-9/]+': its name or path is too long/);
    assert.match(cli.stderr, /is incomplete: 4 entries could not be restored on this file system/);
    assert.equal(await readFile(join(parent, 'by-cli', 'chat', 'after.txt'), 'utf8'), 'after');
  });

  it('refuses two paths with the same base name, and a path that does not exist', async () => {
    const store = await storeAt('store-usage');
    await mkdir(join(work, 'x', 'chat'), { recursive: true });
    await assert.rejects(
      createBackup([source, join(work, 'x', 'chat')], { key, store }),
      /both named 'chat'/,
    );
    await assert.rejects(createBackup([join(work, 'missing')], { key, store }), UsageError);
    assert.deepEqual(await leftovers(work, 'store-usage'), []);
  });

  it('a backup written with the archive writer alone restores too (no files on disk involved)', async () => {
    const store = await storeAt('store-sdk');
    async function* entries() {
      yield {
        type: 'file' as const,
        path: 'note.txt',
        mode: 0o600,
        mtimeNs: 0n,
        size: 2,
        content: (async function* () {
          yield Buffer.from('hi');
        })(),
      };
    }
    async function* once() {
      yield* writeArchive(entries());
    }
    await store.put('20260102T000000.000Z-00000001.srb', encryptStream(once(), key, { crypto: nodeCrypto }));
    await restoreBackup({ key, store, to: join(work, 'sdk-out') });
    assert.equal(await readFile(join(work, 'sdk-out', 'note.txt'), 'utf8'), 'hi');
    assert.equal((await lstat(join(work, 'sdk-out', 'note.txt'))).mode & 0o777, 0o600);
  });
});

function flip(blob: Buffer, offset: number): Buffer {
  const copy = Buffer.from(blob);
  copy[offset]! ^= 1;
  return copy;
}
