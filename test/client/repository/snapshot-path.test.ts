// One path inside a snapshot (src/client/repository/snapshot-path.ts, through restoreSnapshot's
// `path`; docs/BACKUP.md "Names that are not UTF-8"): real files whose names are not UTF-8, found
// name by name as exact bytes, never by the text they read as; a path that is not there fails with
// a UsageError naming the nearest names, escaped, before anything is written; and what a restore of
// a path reports: its files, its bytes, and its changed files by escaped path.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { parseEscapedName } from '../../../src/client/repository/escaped-names.ts';
import { Repository } from '../../../src/client/repository/repository.ts';
import { UsageError } from '../../../src/errors.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';

const key = BackupKey.generate(nodeCrypto.randomBytes);
const E_ACUTE = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
const E_GRAVE = Buffer.from([0x63, 0x61, 0x66, 0xe8]);
let work: string;
let repository: Repository;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);
const at = (dir: string, name: Buffer | string) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name)]);
const names = (dir: string) => readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare);

/** Asserts that `promise` rejects with a UsageError whose message (and hints) match. */
async function rejectsUsage(promise: Promise<unknown>, message: RegExp, hint?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
    assert.match(error.message, message);
    if (hint !== undefined) assert.match(error.hints.join('\n'), hint);
    return true;
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongroom-snapshot-path-'));
  const source = join(work, 'chat');
  mkdirSync(join(source, 'media'), { recursive: true });
  writeFileSync(at(source, E_ACUTE), 'acute');
  writeFileSync(at(source, E_GRAVE), 'grave!');
  writeFileSync(join(source, 'media', 'photo.jpg'), 'jpeg');
  symlinkSync('media', join(source, 'link'));
  repository = await Repository.openOrCreate(new DirectoryBlobStore(fresh('repo')), key, nodeCrypto);
  await createSnapshot(repository, [source]);
});
after(() => {
  repository.close();
  execFileSync('rm', ['-rf', work]);
});

describe('restoreSnapshot with a path', () => {
  it('finds each name by its exact bytes, so look-alikes restore apart', async () => {
    for (const [name, content] of [
      [E_ACUTE, 'acute'],
      [E_GRAVE, 'grave!'],
    ] as const) {
      const to = fresh('one');
      const restored = await restoreSnapshot(repository, {
        to,
        path: Buffer.concat([Buffer.from('chat/'), name]),
      });
      assert.deepEqual(names(to), [name]);
      assert.equal(readFileSync(at(to, name), 'utf8'), content);
      assert.deepEqual(restored.restored, { files: 1, bytes: content.length });
    }
    // The escaped form, parsed, is the same bytes; a string is its UTF-8 bytes.
    const to = fresh('escaped');
    await restoreSnapshot(repository, { to, path: parseEscapedName('/chat//caf\\351/', '--path') });
    assert.deepEqual(names(to), [E_ACUTE]);
    const media = fresh('media');
    const restored = await restoreSnapshot(repository, { to: media, path: 'chat/media' });
    assert.deepEqual(names(media), [Buffer.from('media')]);
    assert.deepEqual(restored.restored, { files: 1, bytes: 4 });
  });

  it('refuses the text names read as once their bytes that are not UTF-8 are replaced', async () => {
    const to = fresh('lossy');
    await rejectsUsage(
      restoreSnapshot(repository, { to, path: 'chat/caf\uFFFD' }),
      /^'chat\/caf\uFFFD' is ambiguous: 2 names in 'chat\/' read 'caf\uFFFD' .*: 'chat\/caf\\350', 'chat\/caf\\351'$/,
    );
    assert.equal(existsSync(to), false);
  });

  it('refuses a missing name, naming the nearest ones first', async () => {
    await rejectsUsage(
      restoreSnapshot(repository, { to: fresh('typo'), path: 'chat/meda' }),
      /^no 'chat\/meda' in the snapshot$/,
      /^the nearest names in 'chat\/': 'chat\/media', 'chat\/link', 'chat\/caf\\350', 'chat\/caf\\351'$/,
    );
    await rejectsUsage(
      restoreSnapshot(repository, { to: fresh('top'), path: 'chats/media' }),
      /^no 'chats\/media' in the snapshot$/,
      /^the nearest names at the top of the snapshot: 'chat'$/,
    );
  });

  it('goes through directories only: a file or a symbolic link on the way is refused', async () => {
    await rejectsUsage(
      restoreSnapshot(repository, { to: fresh('link'), path: 'chat/link/photo.jpg' }),
      /^'chat\/link' in the snapshot is a symbolic link, not a directory/,
    );
    await rejectsUsage(
      restoreSnapshot(repository, {
        to: fresh('file'),
        path: Buffer.concat([Buffer.from('chat/'), E_ACUTE, Buffer.from('/x')]),
      }),
      /^'chat\/caf\\351' in the snapshot is a file, not a directory: no 'chat\/caf\\351\/x' in it$/,
    );
  });

  it("refuses a path that names nothing or holds '..' before it reads anything", async () => {
    // A repository with no snapshot: looking for the latest would fail, with another error.
    const empty = await Repository.openOrCreate(new DirectoryBlobStore(fresh('repo')), key, nodeCrypto);
    try {
      await rejectsUsage(
        restoreSnapshot(empty, { to: fresh('dots'), path: 'chat/../x' }),
        /no '\.' or '\.\.'/,
      );
      await rejectsUsage(restoreSnapshot(empty, { to: fresh('empty'), path: '/' }), /names nothing/);
    } finally {
      empty.close();
    }
  });
});
