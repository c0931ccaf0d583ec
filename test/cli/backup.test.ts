// `strongroom backup create | list | restore` (README "The CLI") against a directory store and a
// real local S3 server (s3rver, started here): snapshot ids on stdout, listing, latest by default,
// --force, exit codes, and that a damaged single-stream backup (made before repositories, here by
// the same library) or a wrong key restores nothing. test/cli/repository.test.ts covers the
// repository itself: deduplication, damage, interruption and concurrency.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../../src/client/node/backup.ts';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { BackupKey } from '../../src/format/key.ts';
import type { BlobStore } from '../../src/stores/blob/blob-store.ts';
import { DirectoryBlobStore } from '../../src/stores/blob/directory.ts';
import { S3BlobStore } from '../../src/stores/blob/s3.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { type LocalS3, startCrashableS3, startLocalS3 } from '../stores/blob/s3rver.ts';

let work: string;
let source: string;
let keyFile: string;
let s3: LocalS3;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-cli-backup-'));
  source = join(work, 'chat');
  await mkdir(join(source, 'media'), { recursive: true });
  await writeFile(join(source, 'messages.db'), Buffer.alloc(300_000, 7));
  await writeFile(join(source, 'media', 'a.jpg'), Buffer.alloc(2_500_000, 9));
  await symlink('messages.db', join(source, 'latest'));
  keyFile = join(work, 'key.txt');
  await writeFile(keyFile, (await runCli(['keygen'])).stdout);
  s3 = await startLocalS3(['backups']);
});
after(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** A single-stream backup of `source` in `store`, as `backup create` made them before repositories. */
async function streamBackup(store: BlobStore, compress = false): Promise<string> {
  const key = BackupKey.parse(await readFile(keyFile, 'utf8'));
  try {
    return (await createBackup([source], { key, store, compress })).id;
  } finally {
    key.destroy();
  }
}

describe('strongroom backup', () => {
  for (const [label, store, extra] of [
    ['a directory store', () => join(work, 'store'), () => [] as string[]],
    ['an S3 store', () => 's3://backups/cli', () => ['--s3-endpoint', s3.endpoint]],
  ] as const) {
    it(`creates, lists and restores through ${label}`, async () => {
      const create = await runCli(
        ['backup', 'create', source, '--key-file', keyFile, '--to', store(), ...extra()],
        { env: s3.env },
      );
      assert.equal(create.code, 0, create.stderr);
      const id = create.stdout.trim();
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.match(
        create.stderr,
        new RegExp(`^snapshot ${id}: 2 files \\(2 read\\), 2\\.7 MiB, [\\d.]+ [KM]iB uploaded to `, 'm'),
      );

      const list = await runCli(['backup', 'list', '--from', store(), '--key-file', keyFile, ...extra()], {
        env: s3.env,
      });
      assert.equal(list.code, 0, list.stderr);
      assert.match(
        list.stdout,
        new RegExp(
          `^${id}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC +2 files +2\\.7 MiB  \\+[\\d.]+ [KM]iB\\n$`,
        ),
      );

      const to = join(work, `restored-${label.replaceAll(' ', '-')}`);
      const restore = await runCli(
        ['backup', 'restore', '--key-file', keyFile, '--from', store(), '--to', to, ...extra()],
        { env: s3.env },
      );
      assert.equal(restore.code, 0, restore.stderr);
      assert.match(restore.stderr, new RegExp(`restored snapshot ${id} into `));
      assert.deepEqual((await compareTrees(source, join(to, 'chat'))).differences, []);
    });
  }

  it('refuses a non-empty destination (exit 2) unless --force, and restores by --id', async () => {
    const store = join(work, 'store-force');
    const first = (
      await runCli(['backup', 'create', source, '--key-file', keyFile, '--to', store])
    ).stdout.trim();
    await writeFile(join(source, 'messages.db'), 'changed');
    await runCli(['backup', 'create', source, '--key-file', keyFile, '--to', store]);
    const to = join(work, 'busy');
    await mkdir(to);
    await writeFile(join(to, 'mine'), 'keep');
    const refused = await runCli(['backup', 'restore', '--key-file', keyFile, '--from', store, '--to', to]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /is not empty/);
    assert.match(refused.stderr, /--force/);
    assert.deepEqual(await readdir(to), ['mine']);
    const forced = await runCli([
      'backup',
      'restore',
      '--key-file',
      keyFile,
      '--from',
      store,
      '--id',
      first,
      '--to',
      to,
      '--force',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await readFile(join(to, 'chat', 'messages.db'))).length, 300_000);
    assert.equal(await readFile(join(to, 'mine'), 'utf8'), 'keep');
  });

  it('restores nothing from a damaged single-stream backup (exit 5) or with a wrong key (exit 6)', async () => {
    const store = join(work, 'store-damaged');
    const id = await streamBackup(new DirectoryBlobStore(store));
    const parent = join(work, 'damaged-dest');
    await mkdir(parent);

    const otherKey = join(work, 'other-key.txt');
    await writeFile(otherKey, (await runCli(['keygen'])).stdout);
    const wrong = await runCli([
      'backup',
      'restore',
      '--key-file',
      otherKey,
      '--from',
      store,
      '--to',
      join(parent, 'out'),
    ]);
    assert.equal(wrong.code, 6);
    assert.match(wrong.stderr, /wrong key/);

    const blob = join(store, `${id}.srb`);
    const bytes = await readFile(blob);
    bytes[bytes.length - 20]! ^= 1;
    await writeFile(blob, bytes);
    const damaged = await runCli([
      'backup',
      'restore',
      '--key-file',
      keyFile,
      '--from',
      store,
      '--to',
      join(parent, 'out'),
    ]);
    assert.equal(damaged.code, 5);
    assert.match(damaged.stderr, /failed to decrypt and authenticate/);
    assert.deepEqual(await readdir(parent), []);
  });

  for (const [label, store, extra] of [
    ['a directory store', () => join(work, 'store-compressed'), () => [] as string[]],
    ['an S3 store', () => 's3://backups/compressed', () => ['--s3-endpoint', s3.endpoint]],
  ] as const) {
    it(`a compressed single-stream backup with one flipped byte in ${label}: exit 5, nothing left behind`, async () => {
      const blobs = label === 'an S3 store' ? new S3BlobStore(store(), { endpoint: s3.endpoint }) : null;
      const blobKey = `${await streamBackup(blobs ?? new DirectoryBlobStore(store()), true)}.srb`;
      const blob = join(store(), blobKey);
      const parts: Uint8Array[] = [];
      for await (const part of blobs === null ? [await readFile(blob)] : blobs.get(blobKey)) parts.push(part);
      const bytes = Buffer.concat(parts);
      bytes[Math.floor(bytes.length / 2)]! ^= 1;
      if (blobs === null) await writeFile(blob, bytes);
      else await blobs.put(blobKey, once(bytes));
      blobs?.destroy();
      const parent = join(work, `compressed-dest-${label.replaceAll(' ', '-')}`);
      await mkdir(parent);
      const restore = await runCli(
        [
          'backup',
          'restore',
          '--key-file',
          keyFile,
          '--from',
          store(),
          '--to',
          join(parent, 'out'),
          ...extra(),
        ],
        { env: s3.env },
      );
      assert.equal(restore.code, 5, restore.stderr);
      assert.match(restore.stderr, /^strongroom: error: chunk \d+ failed to decrypt and authenticate/m);
      assert.doesNotMatch(restore.stderr, /\n\s+at /); // no stack trace
      assert.deepEqual(await readdir(parent), []);
    });
  }

  it('a store whose server dies mid-restore: exit 7 naming the cause, nothing left behind', async () => {
    const server = await startCrashableS3(['crashing']);
    try {
      const big = join(work, 'big');
      await mkdir(big);
      // Random: constant bytes would deduplicate to one chunk and restore too fast to catch midway.
      await writeFile(join(big, 'media.bin'), nodeCrypto.randomBytes(96 * 2 ** 20));
      const args = ['--key-file', keyFile, '--s3-endpoint', server.endpoint];
      const create = await runCli(['backup', 'create', big, '--to', 's3://crashing', ...args], {
        env: s3.env,
      });
      assert.equal(create.code, 0, create.stderr);
      const parent = join(work, 'crash-dest');
      await mkdir(parent);
      const { result } = startCli(
        ['backup', 'restore', '--from', 's3://crashing', '--to', join(parent, 'out'), ...args],
        {
          env: s3.env,
        },
      );
      await eventually(
        async () => {
          const [temp] = (await readdir(parent)).filter((n) => n.startsWith('.out.strongroom-restore-'));
          return temp === undefined
            ? 0
            : (await stat(join(parent, temp, 'big', 'media.bin')).catch(() => ({ size: 0 }))).size;
        },
        (size) => size > 0,
        'the restore is writing',
        60_000,
      );
      await server.crash();
      const restore = await result;
      assert.equal(restore.code, 7, restore.stderr);
      assert.match(restore.stderr, /^strongroom: error: S3 store s3:\/\/crashing could not be reached: \S/m);
      assert.deepEqual(await readdir(parent), []);
    } finally {
      await server.crash();
    }
  });

  it('reports usage errors (exit 2) and a missing backup id (exit 1)', async () => {
    const noStore = await runCli(['backup', 'create', source, '--key-file', keyFile]);
    assert.equal(noStore.code, 2);
    assert.match(noStore.stderr, /no store given: pass --to STORE/);
    const missing = await runCli([
      'backup',
      'restore',
      '--key-file',
      keyFile,
      '--from',
      join(work, 'store'),
      '--id',
      '20200101T000000.000Z-00000000',
      '--to',
      join(work, 'nowhere'),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no backup 20200101T000000\.000Z-00000000/);
  });
});
