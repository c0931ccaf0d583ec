// The repository test vectors (test/vectors/repository/, docs/FORMAT.md §12.11), checked against
// both crypto implementations: each vector's snapshot restores to exactly its `entry:` lines, or
// fails with the outcome its `expect:` names.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { restoreSnapshot } from '../../../src/client/node/repository-backup.ts';
import { zstdCompression } from '../../../src/client/node/zstd-compression.ts';
import { Repository } from '../../../src/client/repository/repository.ts';
import { DamagedBackupError, WrongKeyError } from '../../../src/errors.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { webCrypto } from '../../../src/format/webcrypto.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';

const vectors = fileURLToPath(new URL('../../vectors/repository/', import.meta.url));
let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-repo-vectors-test-'));
});
after(() => rm(work, { recursive: true, force: true }));

/** One `entry:` line per restored entry, in the vectors' form, sorted by path. */
async function describeTree(root: string): Promise<string[]> {
  const lines: string[] = [];
  for (const path of (await readdir(root, { recursive: true })).map(String).sort()) {
    const full = join(root, path);
    const info = await lstat(full);
    const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
    if (info.isSymbolicLink()) lines.push(`entry: symlink ${path} target=${await readlink(full)}`);
    else if (info.isDirectory()) lines.push(`entry: dir ${path} mode=${mode}`);
    else {
      const sha = createHash('sha256')
        .update(await readFile(full))
        .digest('hex');
      const links = info.nlink > 1 ? ` links=${info.nlink}` : '';
      lines.push(`entry: file ${path} mode=${mode} size=${info.size} sha256=${sha}${links}`);
    }
  }
  return lines;
}

const names = (await readdir(vectors, { withFileTypes: true }))
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

describe('repository vectors', () => {
  it('covers success, wrong key and every kind of damage, compression included', () => {
    assert.deepEqual(names.sort(), [
      'bad_name_encoding_tree',
      'climbing_tree',
      'damaged_config',
      'damaged_pack',
      'dropped_pack',
      'mixed_index',
      'renamed_snapshot',
      'replayed_snapshot',
      'success',
      'unknown_compression',
      'unsorted_tree',
      'wrong_key',
      'zstd_bomb',
      'zstd_garbage',
    ]);
  });

  for (const name of names) {
    // Node's pair (node:crypto, libzstd) and the browser's (WebCrypto, fzstd when no compression is given).
    for (const [cryptoName, crypto, compression] of [
      ['node', nodeCrypto, zstdCompression()],
      ['webcrypto', webCrypto, undefined],
    ] as const) {
      it(`${name} (${cryptoName})`, async () => {
        const text = await readFile(join(vectors, name, 'vector.txt'), 'utf8');
        const field = (label: string) => text.match(new RegExp(`^${label}: (.*)$`, 'm'))?.[1];
        const key = BackupKey.parse(field('key')!);
        const expectedEntries = text.split('\n').filter((line) => line.startsWith('entry: '));
        const to = join(work, `${name}-${cryptoName}`);
        const restore = async () => {
          const repository = await Repository.open(new DirectoryBlobStore(join(vectors, name)), key, crypto, {
            compression,
          });
          await restoreSnapshot(repository, { id: field('snapshot'), to });
        };
        switch (field('expect')) {
          case 'success':
            await restore();
            assert.deepEqual(await describeTree(to), expectedEntries);
            break;
          case 'wrong key':
            await assert.rejects(restore(), WrongKeyError);
            break;
          case 'damaged':
            await assert.rejects(restore(), DamagedBackupError);
            assert.deepEqual(await readdir(to).catch(() => []), []);
            break;
          default:
            assert.fail(`unknown expect in ${name}`);
        }
      });
    }
  }
});
