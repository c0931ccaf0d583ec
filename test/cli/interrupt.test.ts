// Interrupted runs (docs/BACKUP.md "Interrupted runs"): the real CLI in a child process, signalled
// with real SIGINT, SIGTERM and SIGKILL while it is mid-run, then the disk inspected. A signal the
// CLI can catch removes the unverified plaintext (decrypt -o, backup restore) or the partial blob
// (backup create) and exits 130 or 143; after SIGKILL what is left is readable by its owner only,
// and the next run of the same command removes it.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../../src/client/node/backup.ts';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { BackupKey } from '../../src/format/key.ts';
import { encryptStream } from '../../src/format/stream.ts';
import { DirectoryBlobStore } from '../../src/stores/blob/directory.ts';
import { type CliResult, runCli, startCli, stopAtFirstPack } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { runCliInTerminal } from '../helpers/terminal.ts';
import { type LocalS3, startLocalS3, unfinishedUploads } from '../stores/blob/s3rver.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
let work: string;
let keyFile: string;
/** A directory with one large file: big enough that a restore or create is still running when polled. */
let source: string;
/** A directory of 96 MiB of random bytes: several packs, none of which deduplicates. */
let createSource: string;
/** A directory store holding one single-stream backup of `source`. */
let store: string;
/** The backup stream of `plaintext`, for decrypt fed through stdin. */
let sealed: Buffer;
let s3: LocalS3;
const plaintext = nodeCrypto.randomBytes(24 * 2 ** 20);

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-interrupt-'));
  keyFile = join(work, 'key.txt');
  await writeFile(keyFile, key.format());
  source = join(work, 'chat');
  await mkdir(source);
  await writeFile(join(source, 'media.bin'), Buffer.alloc(160 * 2 ** 20, 7));
  createSource = join(work, 'photos');
  await mkdir(createSource);
  await writeFile(join(createSource, 'video.mp4'), nodeCrypto.randomBytes(96 * 2 ** 20));
  store = join(work, 'store');
  await createBackup([source], { key, store: new DirectoryBlobStore(store) });
  const parts: Uint8Array[] = [];
  for await (const part of encryptStream(once(plaintext), key, { crypto: nodeCrypto })) parts.push(part);
  sealed = Buffer.concat(parts);
  s3 = await startLocalS3(['backups']);
});
after(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});

/** Names in `directory` that start with `prefix`, with their modes. */
async function entriesLike(directory: string, prefix: string): Promise<{ name: string; mode: number }[]> {
  const names = (await readdir(directory).catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
  return Promise.all(
    names.map(async (name) => ({ name, mode: (await stat(join(directory, name))).mode & 0o777 })),
  );
}

/** Waits until `directory` holds a temporary starting with `prefix` that has something in it. */
async function untilWriting(directory: string, prefix: string, inside?: string): Promise<void> {
  await eventually(
    async () => {
      for (const { name } of await entriesLike(directory, prefix)) {
        const path = inside === undefined ? join(directory, name) : join(directory, name, inside);
        const size = await stat(path).then(
          (s) => s.size,
          () => 0,
        );
        if (size > 0) return true;
      }
      return false;
    },
    (writing) => writing,
    `a temporary ${prefix}* in ${directory} is being written`,
    60_000,
  );
}

function expectInterrupted(result: CliResult, signal: 'SIGINT' | 'SIGTERM'): void {
  assert.equal(result.code, signal === 'SIGINT' ? 130 : 143, result.stderr);
  assert.match(result.stderr, new RegExp(`interrupted \\(${signal}\\); removing unfinished files`));
  assert.doesNotMatch(result.stderr, /\n\s+at /); // no stack trace
}

describe('an interrupted run', () => {
  describe('decrypt -o, fed through stdin and stopped halfway', () => {
    /** Starts decrypt -o OUT, feeds it half the stream, and waits until its temporary file has bytes. */
    async function halfway(parent: string) {
      await mkdir(parent);
      const run = startCli(['decrypt', '--key-file', keyFile, '-o', join(parent, 'out')]);
      run.child.stdin.write(sealed.subarray(0, sealed.length / 2));
      await untilWriting(parent, '.out.strongroom-');
      return run;
    }

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal}: exits ${signal === 'SIGINT' ? 130 : 143} and leaves no plaintext`, async () => {
        const parent = join(work, `decrypt-${signal}`);
        const { child, result } = await halfway(parent);
        child.kill(signal);
        expectInterrupted(await result, signal);
        assert.deepEqual(await readdir(parent), []);
      });
    }

    it('SIGKILL: the leftover is 0600, and the next decrypt -o there removes it', async () => {
      const parent = join(work, 'decrypt-SIGKILL');
      const { child, result } = await halfway(parent);
      child.kill('SIGKILL');
      assert.equal((await result).signal, 'SIGKILL');
      const left = await entriesLike(parent, '.out.strongroom-');
      assert.equal(left.length, 1);
      assert.equal(left[0]!.mode, 0o600);
      const again = await runCli(['decrypt', '--key-file', keyFile, '-o', join(parent, 'out')], {
        input: sealed,
      });
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await readdir(parent), ['out']);
      assert.ok((await readFile(join(parent, 'out'))).equals(plaintext));
    });
  });

  describe('backup restore of a 160 MiB backup', () => {
    async function midway(parent: string) {
      await mkdir(parent);
      const run = startCli([
        'backup',
        'restore',
        '--key-file',
        keyFile,
        '--from',
        store,
        '--to',
        join(parent, 'out'),
      ]);
      await untilWriting(parent, '.out.strongroom-restore-', join('chat', 'media.bin'));
      return run;
    }

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal}: exits ${signal === 'SIGINT' ? 130 : 143} and leaves nothing beside the destination`, async () => {
        const parent = join(work, `restore-${signal}`);
        const { child, result } = await midway(parent);
        child.kill(signal);
        expectInterrupted(await result, signal);
        assert.deepEqual(await readdir(parent), []);
      });
    }

    it('SIGKILL: the leftover place is 0700, and the next restore there removes it', async () => {
      const parent = join(work, 'restore-SIGKILL');
      const { child, result } = await midway(parent);
      child.kill('SIGKILL');
      assert.equal((await result).signal, 'SIGKILL');
      const left = await entriesLike(parent, '.out.strongroom-restore-');
      assert.equal(left.length, 1);
      assert.equal(left[0]!.mode, 0o700);
      const again = await runCli([
        'backup',
        'restore',
        '--key-file',
        keyFile,
        '--from',
        store,
        '--to',
        join(parent, 'out'),
      ]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await readdir(parent), ['out']);
      assert.equal((await stat(join(parent, 'out', 'chat', 'media.bin'))).size, 160 * 2 ** 20);
    });
  });

  describe('backup create of 96 MiB into a directory repository', () => {
    /** Starts a backup and stops it once its first pack is stored: it is uploading the others then. */
    async function midway(target: string) {
      const run = startCli(['backup', 'create', createSource, '--key-file', keyFile, '--to', target]);
      await stopAtFirstPack(run.child, target);
      return run;
    }
    const unfinished = async (target: string) =>
      (await readdir(target)).filter((n) => n.startsWith('.partial-') || n.startsWith('repo.snapshot.'));

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal}: exits ${signal === 'SIGINT' ? 130 : 143}, leaves no partial blob and no snapshot`, async () => {
        const target = join(work, `create-${signal}`);
        const { child, result } = await midway(target);
        child.kill(signal);
        child.kill('SIGCONT');
        expectInterrupted(await result, signal);
        assert.deepEqual(await unfinished(target), []);
        // The packs it stored are whole (their next run adopts them, docs/FORMAT.md §12.8).
        const check = await runCli([
          'backup',
          'check',
          '--from',
          target,
          '--key-file',
          keyFile,
          '--read-data',
        ]);
        assert.equal(check.code, 0, check.stderr);
      });
    }

    it('SIGKILL: a partial blob left is 0600, and the next create into the store removes it', async () => {
      const target = join(work, 'create-SIGKILL');
      const { child, result } = await midway(target);
      child.kill('SIGKILL');
      assert.equal((await result).signal, 'SIGKILL');
      // The kill may or may not have caught a pack on its way into the store.
      for (const left of await entriesLike(target, '.partial-')) assert.equal(left.mode, 0o600, left.name);
      const again = await runCli(['backup', 'create', createSource, '--key-file', keyFile, '--to', target]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await unfinished(target), [`repo.snapshot.${again.stdout.trim()}`]);
    });
  });

  describe('backup create of 96 MiB into an S3 repository', () => {
    const s3Args = (prefix: string) => ['--to', `s3://backups/${prefix}`, '--s3-endpoint', s3.endpoint];
    async function midway(prefix: string) {
      const run = startCli(['backup', 'create', createSource, '--key-file', keyFile, ...s3Args(prefix)], {
        env: s3.env,
      });
      await eventually(
        () => unfinishedUploads(s3.endpoint, 'backups', `${prefix}/`),
        (uploads) => uploads.length === 1,
        'a multipart upload of a pack has started',
        120_000,
      );
      return run;
    }

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal}: exits ${signal === 'SIGINT' ? 130 : 143} with its multipart upload aborted and no snapshot`, async () => {
        const prefix = `create-${signal}`;
        const { child, result } = await midway(prefix);
        child.kill(signal);
        expectInterrupted(await result, signal);
        assert.deepEqual(await unfinishedUploads(s3.endpoint, 'backups', `${prefix}/`), []);
        const list = await runCli(
          [
            'backup',
            'list',
            '--from',
            `s3://backups/${prefix}`,
            '--s3-endpoint',
            s3.endpoint,
            '--key-file',
            keyFile,
          ],
          {
            env: s3.env,
          },
        );
        assert.equal(list.stdout, '');
        assert.match(list.stderr, /no backups in/);
      });
    }
  });
});

describe('an interrupted run on a terminal', () => {
  it('Ctrl-C during backup create erases its bar and draws it no more', async () => {
    const target = join(work, 'terminal-repo');
    const { code, screen } = await runCliInTerminal(
      ['backup', 'create', createSource, '--key-file', keyFile, '--to', target],
      // Typed once the bar is drawn: the run is then under way, uploading its first packs.
      [{ prompt: /backup +\[[█░]+\] \d+%/, line: '\x03' }],
    );
    assert.equal(code, 130, screen);
    const notice = screen.indexOf('strongroom: interrupted (SIGINT); removing unfinished files');
    assert.ok(notice >= 0, screen);
    // The run goes on for a moment while it cleans up: what it reads then must not bring the bar back.
    assert.doesNotMatch(screen.slice(notice), /backup +\[/);
    assert.deepEqual(
      (await readdir(target)).filter((name) => name.startsWith('.partial-')),
      [],
      'the pack being streamed was removed',
    );
  });
});
