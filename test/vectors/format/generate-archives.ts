// Writes the archive test vectors of docs/FORMAT.md §6 "Archive" into this directory, as
// `<name>.srar`:
//   node --import tsx test/vectors/format/generate-archives.ts
// Each file is a short text header, an empty line, then the raw archive bytes (the plaintext of a
// backup stream). Header lines: `expect:` (success | damaged), `comment:`, and for success one
// `entry:` line per entry, in order:
//   entry: <type> mode=<octal> mtime=<ns> owner=<uid>:<gid>|- path=<hex> [size=<n> sha256=<hex>
//          state=<0|1>] [target=<hex>]
// Names are in hex because they are bytes (not always UTF-8). Version 1 vectors are built here byte
// by byte from the spec (the writer writes version 2 only); version 2 ones by writeArchive, and the
// spec test in test/format/archive.test.ts checks that layout independently.
// test/format/archive-vectors.test.ts checks them. Regenerating gives the same bytes.
import { createHash } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { zlibCodec } from '../../../src/client/node/zlib-codec.ts';
import { type WriteEntry, writeArchive } from '../../../src/format/archive.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}
async function* once(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Described {
  type: string;
  mode: number;
  mtimeNs: bigint;
  owner?: [number, number];
  path: Uint8Array;
  content?: Uint8Array;
  state?: number;
  target?: Uint8Array;
}
const line = (e: Described) =>
  [
    `entry: ${e.type} mode=${e.mode.toString(8).padStart(4, '0')} mtime=${e.mtimeNs}`,
    `owner=${e.owner === undefined ? '-' : e.owner.join(':')} path=${hex(e.path)}`,
    ...(e.content === undefined
      ? []
      : [`size=${e.content.length} sha256=${sha256(e.content)} state=${e.state}`]),
    ...(e.target === undefined ? [] : [`target=${hex(e.target)}`]),
  ].join(' ');

function write(
  name: string,
  expect: 'success' | 'damaged',
  archive: Uint8Array,
  comment: string,
  entries: Described[] = [],
) {
  const lines = [`expect: ${expect}`, `comment: ${comment}`, ...entries.map(line), '', ''];
  writeFileSync(`${dir}/${name}.srar`, Buffer.concat([Buffer.from(lines.join('\n')), archive]));
}

for (const name of readdirSync(dir)) if (name.endsWith('.srar')) rmSync(`${dir}/${name}`);

// Version 1, by hand: "SRAR" 01 00, then entries without owners or state bytes.
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};
const v1Entry = (type: number, path: string, mode: number, mtimeNs: bigint, extra: Buffer) =>
  Buffer.concat([
    Buffer.from([type]),
    u16(Buffer.byteLength(path)),
    Buffer.from(path),
    u16(mode),
    u64(mtimeNs),
    extra,
  ]);
const hello = Buffer.from('hello, version 1\n');
const v1 = Buffer.concat([
  Buffer.from('SRAR\x01\x00', 'latin1'),
  v1Entry(2, 'chat', 0o755, 1_700_000_000_123_456_789n, Buffer.alloc(0)),
  v1Entry(1, 'chat/notes.txt', 0o644, -1_500_000_000n, Buffer.concat([u64(BigInt(hello.length)), hello])),
  v1Entry(3, 'chat/latest', 0o777, 1n, Buffer.concat([u16(9), Buffer.from('notes.txt')])),
  Buffer.from([0]),
  u64(3n),
  u64(BigInt(hello.length)),
]);
const utf8 = (s: string) => Buffer.from(s);
write(
  'archive_v1',
  'success',
  v1,
  'version 1 (Strongroom 0.1): a directory, a file from before 1970, a symlink',
  [
    { type: 'directory', mode: 0o755, mtimeNs: 1_700_000_000_123_456_789n, path: utf8('chat') },
    {
      type: 'file',
      mode: 0o644,
      mtimeNs: -1_500_000_000n,
      path: utf8('chat/notes.txt'),
      content: hello,
      state: 0,
    },
    { type: 'symlink', mode: 0o777, mtimeNs: 1n, path: utf8('chat/latest'), target: utf8('notes.txt') },
  ],
);
// A type 4 entry in a version 1 archive: version 1 has no hard links.
const v1WithLink = Buffer.concat([
  Buffer.from('SRAR\x01\x00', 'latin1'),
  v1Entry(1, 'f', 0o644, 0n, Buffer.concat([u64(1n), Buffer.from('x')])),
  v1Entry(4, 'h', 0o644, 0n, Buffer.concat([u16(1), Buffer.from('f')])),
  Buffer.from([0]),
  u64(2n),
  u64(1n),
]);
write(
  'archive_v1_hard_link',
  'damaged',
  v1WithLink,
  'version 1 with a hard link entry (type 4 is version 2 only)',
);

// Version 2: every kind of entry, a name that is not UTF-8, owners, a changed file.
const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1
const db = Buffer.from('messages '.repeat(40));
const torn = Buffer.from('half old, half new');
const described: Described[] = [
  {
    type: 'directory',
    mode: 0o750,
    mtimeNs: 1_700_000_000_000_000_001n,
    owner: [1000, 100],
    path: utf8('chat'),
  },
  {
    type: 'file',
    mode: 0o600,
    mtimeNs: 1_700_000_001_999_999_999n,
    owner: [1000, 100],
    path: utf8('chat/messages.db'),
    content: db,
    state: 0,
  },
  {
    type: 'hardlink',
    mode: 0o600,
    mtimeNs: 1_700_000_001_999_999_999n,
    owner: [1000, 100],
    path: utf8('chat/messages.bak'),
    target: utf8('chat/messages.db'),
  },
  {
    type: 'symlink',
    mode: 0o777,
    mtimeNs: -86_400_000_000_000n,
    owner: [0, 0],
    path: utf8('chat/latest'),
    target: latin1,
  },
  {
    type: 'file',
    mode: 0o4755,
    mtimeNs: 0n,
    owner: [4_294_967_294, 65_534],
    path: Buffer.concat([utf8('chat/'), latin1]),
    content: torn,
    state: 1,
  },
];
const toWrite = (e: Described): WriteEntry => {
  const name = e.path.every((b) => b < 0x80)
    ? { path: Buffer.from(e.path).toString() }
    : { path: Buffer.from(e.path).toString(), rawPath: e.path };
  const common = { ...name, mode: e.mode, mtimeNs: e.mtimeNs, uid: e.owner![0], gid: e.owner![1] };
  const target =
    e.target === undefined
      ? undefined
      : e.target.every((b) => b < 0x80)
        ? { target: Buffer.from(e.target).toString() }
        : { target: Buffer.from(e.target).toString(), rawTarget: e.target };
  if (e.type === 'directory') return { type: 'directory', ...common };
  if (e.type === 'symlink') return { type: 'symlink', ...common, ...target! };
  if (e.type === 'hardlink') return { type: 'hardlink', ...common, ...target! };
  return {
    type: 'file',
    ...common,
    size: e.content!.length,
    content: once(e.content!),
    changedWhileRead: () => e.state === 1,
  };
};
async function* entries() {
  yield* described.map(toWrite);
}
const v2 = await collect(writeArchive(entries()));
write(
  'archive_v2',
  'success',
  v2,
  'version 2: directory, file, hard link, symlink to a non-UTF-8 name, a changed set-uid file with a non-UTF-8 name; owners',
  described,
);
write(
  'archive_v2_deflate',
  'success',
  await collect(writeArchive(entries(), zlibCodec)),
  'archive_v2 with compression 1 (zlib deflate)',
  described,
);

// Damaged version 2 archives, each one edit of archive_v2 or one entry built by hand.
const v2Entry = (type: number, path: string, extra: Buffer) =>
  Buffer.concat([
    Buffer.from([type]),
    u16(path.length),
    Buffer.from(path),
    u16(0o644),
    u64(0n),
    Buffer.alloc(8),
    extra,
  ]);
const v2Archive = (count: number, content: number, ...parts: Buffer[]) =>
  Buffer.concat([
    Buffer.from('SRAR\x02\x00', 'latin1'),
    ...parts,
    Buffer.from([0]),
    u64(BigInt(count)),
    u64(BigInt(content)),
  ]);
write(
  'archive_v2_hard_link_to_directory',
  'damaged',
  v2Archive(
    2,
    0,
    v2Entry(2, 'd', Buffer.alloc(0)),
    v2Entry(4, 'h', Buffer.concat([u16(1), Buffer.from('d')])),
  ),
  'a hard link whose target is a directory',
);
write(
  'archive_v2_hard_link_forward',
  'damaged',
  v2Archive(
    2,
    1,
    v2Entry(4, 'h', Buffer.concat([u16(1), Buffer.from('f')])),
    v2Entry(1, 'f', Buffer.concat([u64(1n), Buffer.from('x'), Buffer.from([0])])),
  ),
  'a hard link before its target file',
);
write(
  'archive_v2_hard_link_outside',
  'damaged',
  v2Archive(1, 0, v2Entry(4, 'h', Buffer.concat([u16(11), Buffer.from('/etc/passwd')]))),
  'a hard link to a path outside the archive',
);
write(
  'archive_v2_state_edited',
  'damaged',
  v2Archive(1, 1, v2Entry(1, 'f', Buffer.concat([u64(1n), Buffer.from('x'), Buffer.from([2])]))),
  'a file state byte of 2',
);
const stateOffset = v2.indexOf(db) + db.length;
write(
  'archive_v2_state_missing',
  'damaged',
  Buffer.concat([v2.subarray(0, stateOffset), v2.subarray(stateOffset + 1)]),
  'archive_v2 with the first file state byte removed',
);
write(
  'archive_version_3',
  'damaged',
  Buffer.concat([v2.subarray(0, 4), Buffer.from([3]), v2.subarray(5)]),
  'archive_v2 with version byte 3',
);
