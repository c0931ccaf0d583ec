// Writes the repository test vectors of docs/FORMAT.md §12.11 into this directory:
//   node --import tsx test/vectors/repository/generate.ts
// Each vector is a directory: the repository's objects as a directory store holds them, and
// `vector.txt` (expect: success | wrong key | damaged; key; snapshot; for success one `entry:` line
// per restored entry). The vectors are committed; test/client/repository/vectors.test.ts checks
// them against both crypto implementations. Randomness is fixed here, but trees keep the source
// files' ctime, inode and device (§12.7), so regenerating gives other trees and packs, equally valid.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { createSnapshot } from '../../../src/client/node/repository-backup.ts';
import { zstdCompression } from '../../../src/client/node/zstd-compression.ts';
import type { ChunkCompression } from '../../../src/client/repository/compression.ts';
import { ObjectType, openObject, sealObject } from '../../../src/client/repository/objects.ts';
import {
  PACK_PREFIX,
  type PackEntry,
  Repository,
  SNAPSHOT_PREFIX,
} from '../../../src/client/repository/repository.ts';
import { RepositoryWriter } from '../../../src/client/repository/writer.ts';
import type { FormatCrypto } from '../../../src/format/crypto.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { DirectoryBlobStore } from '../../../src/stores/blob/directory.ts';
import { fixedChunker } from '../../client/repository/fixed-chunker.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));

const bytesFrom = (label: string, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  for (let offset = 0, i = 0; offset < length; i++) {
    const block = createHash('sha256').update(`${label}/${i}`).digest();
    out.set(block.subarray(0, Math.min(32, length - offset)), offset);
    offset += 32;
  }
  return out;
};

/** nodeCrypto with random bytes drawn from a fixed sequence (vectors only). */
function fixedRandom(label: string): FormatCrypto {
  let counter = 0;
  return { ...nodeCrypto, randomBytes: (length) => bytesFrom(`${label} ${counter++}`, length) };
}

const key = new BackupKey(bytesFrom('strongroom repository vector key', 32));
const otherKey = new BackupKey(bytesFrom('strongroom repository vector other key', 32));
const keyText = (k: BackupKey) => Buffer.from(k.exposeBytes()).toString('hex');

const work = mkdtempSync(join(tmpdir(), 'strongroom-repo-vectors-'));
const source = join(work, 'chat');
mkdirSync(join(source, 'media'), { recursive: true });
// Three 4 KiB chunks, the last short; text, so zstd makes each smaller and they are stored compressed.
const messages = new TextEncoder().encode(
  Array.from({ length: 400 }, (_, i) => `message ${i}: see you at ${i % 24}:00\n`)
    .join('')
    .slice(0, 10_000),
);
writeFileSync(join(source, 'messages.db'), messages);
writeFileSync(join(source, 'media', 'photo.jpg'), bytesFrom('photo', 5000));
writeFileSync(join(source, 'media', 'forwarded.jpg'), bytesFrom('photo', 5000)); // same content: stored once
symlinkSync('messages.db', join(source, 'latest'));
linkSync(join(source, 'media', 'photo.jpg'), join(source, 'photo-link.jpg')); // a hard link: one inode
for (const path of ['messages.db', 'media/photo.jpg', 'media/forwarded.jpg', 'media', '.']) {
  utimesSync(join(source, path), 1_700_000_000, 1_700_000_000);
}
execFileSync('chmod', [
  '0644',
  join(source, 'messages.db'),
  join(source, 'media', 'photo.jpg'),
  join(source, 'media', 'forwarded.jpg'),
]);
execFileSync('chmod', ['0755', source, join(source, 'media')]);

async function makeRepository(
  name: string,
  label: string,
  compression: ChunkCompression = zstdCompression(),
): Promise<{ path: string; snapshot: string }> {
  const path = join(dir, name);
  rmSync(path, { recursive: true, force: true });
  const repository = await Repository.openOrCreate(new DirectoryBlobStore(path), key, fixedRandom(label), {
    compression,
  });
  const snapshot = await createSnapshot(repository, [source], {
    chunker: () => fixedChunker(4096),
    time: new Date('2026-12-01T12:00:00Z'),
  });
  return { path, snapshot: snapshot.id };
}

/** zstd, except that the first chunk of messages.db is compressed by `forge` instead. */
function forgingFirstChunk(forge: () => Uint8Array): ChunkCompression {
  const zstd = zstdCompression();
  const first = messages.subarray(0, 4096);
  return {
    compress: (plain) => (Buffer.from(plain).equals(first) ? forge() : zstd.compress(plain)),
    decompress: zstd.decompress,
  };
}

/** The first blob of the vector's only pack, and that pack's path and entries. */
async function firstBlob(path: string): Promise<{ pack: string; entry: PackEntry }> {
  const repository = await Repository.open(new DirectoryBlobStore(path), key, nodeCrypto);
  const name = names(path, PACK_PREFIX)[0]!;
  const entries = await repository.readPackHeader(name);
  return { pack: join(path, name), entry: entries.find((entry) => entry.offset === 0)! };
}

function describe(path: string, fields: Record<string, string>, entries: string[] = []) {
  const lines = Object.entries(fields).map(([name, value]) => `${name}: ${value}`);
  writeFileSync(join(path, 'vector.txt'), `${[...lines, ...entries].join('\n')}\n`);
}

const names = (path: string, prefix: string) =>
  readdirSync(path)
    .filter((name) => name.startsWith(prefix))
    .sort();
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const entries = [
  'entry: dir chat mode=0755',
  'entry: symlink chat/latest target=messages.db',
  'entry: dir chat/media mode=0755',
  `entry: file chat/media/forwarded.jpg mode=0644 size=5000 sha256=${sha(bytesFrom('photo', 5000))}`,
  `entry: file chat/media/photo.jpg mode=0644 size=5000 sha256=${sha(bytesFrom('photo', 5000))} links=2`,
  `entry: file chat/messages.db mode=0644 size=10000 sha256=${sha(messages)}`,
  `entry: file chat/photo-link.jpg mode=0644 size=5000 sha256=${sha(bytesFrom('photo', 5000))} links=2`,
];

const base = await makeRepository('success', 'base');
describe(
  base.path,
  {
    expect: 'success',
    key: keyText(key),
    snapshot: base.snapshot,
    comment:
      'one snapshot: a text file of three chunks stored zstd-compressed, one random content in two files stored as is, a symlink, a hard link (restored as one inode)',
  },
  entries,
);

const wrong = await makeRepository('wrong_key', 'base');
describe(wrong.path, {
  expect: 'wrong key',
  key: keyText(otherKey),
  snapshot: wrong.snapshot,
  comment: 'the success repository opened with another key',
});

const flipped = await makeRepository('damaged_pack', 'base');
{
  const pack = join(flipped.path, names(flipped.path, PACK_PREFIX)[0]!);
  const bytes = readFileSync(pack);
  bytes[100]! ^= 0x01;
  writeFileSync(pack, bytes);
}
describe(flipped.path, {
  expect: 'damaged',
  key: keyText(key),
  snapshot: flipped.snapshot,
  comment: 'byte 100 of the first pack by name flipped (inside its first blob)',
});

const config = await makeRepository('damaged_config', 'base');
{
  const bytes = readFileSync(join(config.path, 'repo.config'));
  bytes[10]! ^= 0x01;
  writeFileSync(join(config.path, 'repo.config'), bytes);
}
describe(config.path, {
  expect: 'damaged',
  key: keyText(key),
  snapshot: config.snapshot,
  comment: 'a byte of the repository id flipped: the checksum fails, not the key check',
});

const dropped = await makeRepository('dropped_pack', 'base');
rmSync(join(dropped.path, names(dropped.path, PACK_PREFIX)[0]!));
describe(dropped.path, {
  expect: 'damaged',
  key: keyText(key),
  snapshot: dropped.snapshot,
  comment: 'the first pack by name deleted',
});

const replayed = await makeRepository('replayed_snapshot', 'base');
{
  const other = await makeRepository('replayed_snapshot_other', 'other');
  const name = SNAPSHOT_PREFIX + other.snapshot;
  writeFileSync(join(replayed.path, name), readFileSync(join(other.path, name)));
  rmSync(other.path, { recursive: true });
  describe(replayed.path, {
    expect: 'damaged',
    key: keyText(key),
    snapshot: other.snapshot,
    comment: 'a snapshot copied from another repository under the same key',
  });
}

const mixed = await makeRepository('mixed_index', 'base');
{
  const other = await makeRepository('mixed_index_other', 'other');
  const index = names(other.path, 'repo.index.')[0]!;
  writeFileSync(join(mixed.path, index), readFileSync(join(other.path, index)));
  rmSync(other.path, { recursive: true });
  describe(mixed.path, {
    expect: 'damaged',
    key: keyText(key),
    snapshot: mixed.snapshot,
    comment: 'an index copied from another repository under the same key',
  });
}

const renamed = await makeRepository('renamed_snapshot', 'base');
{
  const name = SNAPSHOT_PREFIX + renamed.snapshot;
  const fake = `${SNAPSHOT_PREFIX}00000000000000000000000000000000`;
  renameSync(join(renamed.path, name), join(renamed.path, fake));
  describe(renamed.path, {
    expect: 'damaged',
    key: keyText(key),
    snapshot: '00000000000000000000000000000000',
    comment: 'an authentic snapshot stored under another name',
  });
}
/**
 * A repository whose one snapshot's root tree is `tree` (JSON): authentic, sealed under the right
 * key, but breaking a rule of §12.7 that a reader must enforce.
 */
async function withRootTree(name: string, tree: unknown, comment: string) {
  const path = join(dir, name);
  rmSync(path, { recursive: true, force: true });
  const repository = await Repository.openOrCreate(new DirectoryBlobStore(path), key, fixedRandom(name));
  const writer = await RepositoryWriter.start(repository);
  const root = await writer.add(ObjectType.tree, new TextEncoder().encode(JSON.stringify(tree)));
  const snapshot = await writer.commit({
    time: '2026-12-01T12:00:00.000Z',
    paths: ['/chat'],
    tree: root,
    files: 1,
    size: 0,
  });
  describe(path, { expect: 'damaged', key: keyText(key), snapshot: snapshot.id, comment });
}
const emptyFile = (fileName: string) => ({
  name: fileName,
  kind: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtimeNs: '0',
  ctimeNs: '0',
  inode: '1',
  device: '1',
  size: 0,
  content: [],
});
await withRootTree(
  'climbing_tree',
  { entries: [emptyFile('..')] },
  'an authentic root tree with an entry named "..": it would land outside the restore directory',
);
await withRootTree(
  'unsorted_tree',
  { entries: [emptyFile('b'), emptyFile('a')] },
  'an authentic root tree whose names are not in byte order: not the one encoding of its directory',
);
await withRootTree(
  'bad_name_encoding_tree',
  { entries: [{ ...emptyFile('caf\ufffd'), rawName: '636166c3a9' }] },
  'rawName given for bytes that are UTF-8 ("café"): a name has one encoding only',
);

const unknownCompression = await makeRepository('unknown_compression', 'base');
{
  // Re-sealed under the right key with compression byte 2, which no version defines: authentic, and
  // the same length, so the pack header and index still fit.
  const { pack, entry } = await firstBlob(unknownCompression.path);
  const repository = await Repository.open(new DirectoryBlobStore(unknownCompression.path), key, nodeCrypto);
  const bytes = readFileSync(pack);
  const body = await openObject(
    repository.dataAead,
    bytes.subarray(entry.offset, entry.offset + entry.length),
    entry.type,
    '',
    'blob',
  );
  const changed = new Uint8Array(body);
  changed[0] = 2;
  const sealed = await sealObject(repository.dataAead, bytesFrom('reseal', 12), entry.type, '', [changed]);
  bytes.set(Buffer.concat(sealed), entry.offset);
  writeFileSync(pack, bytes);
  describe(unknownCompression.path, {
    expect: 'damaged',
    key: keyText(key),
    snapshot: unknownCompression.snapshot,
    comment: 'an authentic blob whose compression byte is 2 (unknown)',
  });
}

const bomb = await makeRepository(
  'zstd_bomb',
  'base',
  forgingFirstChunk(() => zstdCompression().compress(new Uint8Array(1024 * 1024))),
);
describe(bomb.path, {
  expect: 'damaged',
  key: keyText(key),
  snapshot: bomb.snapshot,
  comment: 'an authentic blob recorded as 4096 bytes whose zstd frame holds 1 MiB of zeros',
});

const notZstd = await makeRepository(
  'zstd_garbage',
  'base',
  forgingFirstChunk(() => bytesFrom('not a zstd frame', 100)),
);
describe(notZstd.path, {
  expect: 'damaged',
  key: keyText(key),
  snapshot: notZstd.snapshot,
  comment: 'an authentic blob with compression byte 1 whose data is not a zstd frame',
});

rmSync(work, { recursive: true });
