// The archive of src/format/archive.ts (docs/FORMAT.md "Archive"): round trips with and without
// compression (node:zlib and CompressionStream reading each other), and the reader's refusals. The
// forged archives are built here byte by byte from the spec, not with the code under test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { webCodec } from '../../src/client/backup/web-codec.ts';
import { zlibCodec } from '../../src/client/node/zlib-codec.ts';
import { DamagedBackupError } from '../../src/errors.ts';
import {
  type Codec,
  type ReadEntry,
  readArchive,
  type WriteEntry,
  writeArchive,
} from '../../src/format/archive.ts';

async function* once(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

/** Every entry read, a file with its `data` and `changed` state in place of the accessors. */
async function readAll(bytes: Uint8Array, codec?: Codec) {
  const out: (Omit<ReadEntry, 'content' | 'changedWhileRead'> & { data?: Buffer; changed?: boolean })[] = [];
  for await (const entry of readArchive(once(bytes), codec)) {
    if (entry.type === 'file') {
      const { content, changedWhileRead, ...rest } = entry;
      out.push({ ...rest, data: await collect(content), changed: changedWhileRead() });
    } else out.push(entry);
  }
  return out;
}

const text = Buffer.from('hello archive '.repeat(500));
const owner = { uid: 1000, gid: 100 };
const entries = (): WriteEntry[] => [
  { type: 'directory', path: 'chat', mode: 0o755, mtimeNs: 1_700_000_000_123_456_789n, ...owner },
  {
    type: 'file',
    path: 'chat/messages.db',
    mode: 0o600,
    mtimeNs: 1_700_000_001_000_000_000n,
    ...owner,
    size: text.length,
    content: once(text.subarray(0, 10), text.subarray(10)),
  },
  {
    type: 'file',
    path: 'chat/empty',
    mode: 0o644,
    mtimeNs: -5_000_000_000n,
    uid: 0,
    gid: 4_294_967_294,
    size: 0,
    content: once(),
    changedWhileRead: () => true,
  },
  { type: 'symlink', path: 'chat/latest', mode: 0o777, mtimeNs: 1n, ...owner, target: 'messages.db' },
  { type: 'hardlink', path: 'chat/same.db', mode: 0o600, mtimeNs: 3n, ...owner, target: 'chat/messages.db' },
  { type: 'directory', path: 'chat/media 📷', mode: 0o700, mtimeNs: 2n, ...owner },
];
/** What readAll gives back for `entries()`. */
const expectedEntries = () =>
  entries().map((e) => {
    if (e.type !== 'file') return e;
    const { content: _content, changedWhileRead, ...rest } = e;
    return { ...rest, data: e.size > 0 ? text : Buffer.alloc(0), changed: changedWhileRead?.() ?? false };
  });

// Spec encoding, independent of src/format/archive.ts. `version` picks the layout of §6: version 2
// adds uid and gid to every entry and a state byte after a file's content.
function u16(n: number) {
  return Buffer.from([n >> 8, n & 0xff]);
}
function u32(n: number) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function u64(n: bigint) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
let version = 2;
function rawEntry(type: number, path: string | Buffer, extra: Buffer = Buffer.alloc(0), mode = 0o644) {
  const p = Buffer.from(path);
  const owner = version === 1 ? Buffer.alloc(0) : Buffer.concat([u32(1000), u32(100)]);
  return Buffer.concat([Buffer.from([type]), u16(p.length), p, u16(mode), u64(0n), owner, extra]);
}
const rawFile = (path: string | Buffer, content: string, state = 0) =>
  rawEntry(
    1,
    path,
    Buffer.concat([
      u64(BigInt(content.length)),
      Buffer.from(content),
      version === 1 ? Buffer.alloc(0) : Buffer.from([state]),
    ]),
  );
const rawDir = (path: string | Buffer) => rawEntry(2, path);
const rawText = (text: string | Buffer) => Buffer.concat([u16(Buffer.from(text).length), Buffer.from(text)]);
const rawLink = (path: string | Buffer, target: string | Buffer) => rawEntry(3, path, rawText(target));
const rawHardLink = (path: string | Buffer, target: string | Buffer) => rawEntry(4, path, rawText(target));
const rawEnd = (count: number, bytes: number) =>
  Buffer.concat([Buffer.from([0]), u64(BigInt(count)), u64(BigInt(bytes))]);
const rawArchive = (...parts: Buffer[]) =>
  Buffer.concat([Buffer.from([0x53, 0x52, 0x41, 0x52, version, 0]), ...parts]);
/** Builds an archive of the given version (the builders above read `version` as they run). */
function inVersion<T>(v: number, build: () => T): T {
  const previous = version;
  version = v;
  try {
    return build();
  } finally {
    version = previous;
  }
}
/** A name that is not UTF-8 (0xff never occurs in UTF-8). */
const latin1Name = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff]);

describe('archive', () => {
  for (const [label, writer, reader] of [
    ['uncompressed', undefined, undefined],
    ['zlib', zlibCodec, zlibCodec],
    ['zlib → CompressionStream', zlibCodec, webCodec],
    ['CompressionStream → zlib', webCodec, zlibCodec],
  ] as const) {
    it(`round-trips files, directories, symlinks, hard links, modes, mtimes, owners, states (${label})`, async () => {
      const bytes = await collect(writeArchive(listOf(entries()), writer));
      const read = await readAll(bytes, reader);
      assert.deepEqual(read, expectedEntries());
      if (writer !== undefined) assert.ok(bytes.length < text.length / 4, 'compressed');
    });
  }

  it('matches the spec layout (version 2) byte for byte', async () => {
    const common = { mode: 0o644, mtimeNs: 0n, uid: 1000, gid: 100 };
    const bytes = await collect(
      writeArchive(
        listOf([
          { type: 'directory', path: 'd', ...common },
          { type: 'file', path: 'd/f', ...common, size: 2, content: once(Buffer.from('hi')) },
          { type: 'symlink', path: 'd/l', ...common, target: 'f' },
          { type: 'hardlink', path: 'd/h', ...common, target: 'd/f' },
          {
            type: 'file',
            path: 'd/t',
            ...common,
            size: 1,
            content: once(Buffer.from('!')),
            changedWhileRead: () => true,
          },
        ]),
      ),
    );
    assert.deepEqual(
      bytes,
      rawArchive(
        rawDir('d'),
        rawFile('d/f', 'hi'),
        rawLink('d/l', 'f'),
        rawHardLink('d/h', 'd/f'),
        rawFile('d/t', '!', 1),
        rawEnd(5, 3),
      ),
    );
  });

  it('keeps a name that begins with a byte order mark, and writes it back to the same bytes', async () => {
    const bom = Buffer.from('\ufeffnotes.txt');
    assert.deepEqual([...bom.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    const bytes = rawArchive(rawDir(bom), rawLink('l', bom), rawEnd(2, 0));
    const read = await readAll(bytes);
    assert.equal(read[0]!.path, '\ufeffnotes.txt');
    assert.equal((read[1] as unknown as { target: string }).target, '\ufeffnotes.txt');
    const rewritten = await collect(writeArchive(listOf(read.map((e) => e as WriteEntry))));
    assert.deepEqual(rewritten, bytes);
  });

  it('keeps a path and a symlink target that are not UTF-8 as their exact bytes', async () => {
    const dir = Buffer.concat([Buffer.from('d/'), latin1Name]);
    const bytes = rawArchive(
      rawDir('d'),
      rawDir(dir),
      rawLink(Buffer.concat([dir, Buffer.from('/l')]), latin1Name),
      rawEnd(3, 0),
    );
    const read = await readAll(bytes);
    assert.equal(read[1]!.path, 'd/caf\ufffd\ufffd');
    assert.deepEqual(read[1]!.rawPath, new Uint8Array(dir));
    assert.deepEqual(read[2], {
      type: 'symlink',
      path: 'd/caf\ufffd\ufffd/l',
      rawPath: new Uint8Array(Buffer.concat([dir, Buffer.from('/l')])),
      mode: 0o644,
      mtimeNs: 0n,
      ...owner,
      target: 'caf\ufffd\ufffd',
      rawTarget: new Uint8Array(latin1Name),
    });
    // Written back, the same bytes.
    const rewritten = await collect(writeArchive(listOf(read.map((e) => e as WriteEntry))));
    assert.deepEqual(rewritten, bytes);
  });

  it('reads a version 1 archive (no owners, no state byte) as before', async () => {
    const bytes = inVersion(1, () =>
      rawArchive(rawDir('d'), rawFile('d/f', 'hi'), rawLink('d/l', 'f'), rawEnd(3, 2)),
    );
    assert.deepEqual(await readAll(bytes), [
      { type: 'directory', path: 'd', mode: 0o644, mtimeNs: 0n },
      {
        type: 'file',
        path: 'd/f',
        mode: 0o644,
        mtimeNs: 0n,
        size: 2,
        data: Buffer.from('hi'),
        changed: false,
      },
      { type: 'symlink', path: 'd/l', mode: 0o644, mtimeNs: 0n, target: 'f' },
    ]);
  });

  it('fails an archive whose file content differs from its announced size', async () => {
    const liar: WriteEntry = {
      type: 'file',
      path: 'f',
      mode: 0o644,
      mtimeNs: 0n,
      size: 5,
      content: once(Buffer.from('abc')),
    };
    await assert.rejects(collect(writeArchive(listOf([liar]))), /changed while it was being backed up/);
  });

  const refusals: [string, () => Buffer][] = [
    ['a parent directory component', () => rawArchive(rawFile('../evil', 'x'), rawEnd(1, 1))],
    ['a nested parent component', () => rawArchive(rawDir('a'), rawFile('a/../../evil', 'x'), rawEnd(2, 1))],
    ['an absolute path', () => rawArchive(rawFile('/etc/evil', 'x'), rawEnd(1, 1))],
    ['a dot component', () => rawArchive(rawFile('./evil', 'x'), rawEnd(1, 1))],
    ['an empty path', () => rawArchive(rawFile('', 'x'), rawEnd(1, 1))],
    ['a NUL byte in a path', () => rawArchive(rawFile('a\0b', 'x'), rawEnd(1, 1))],
    [
      'an entry under a symlink',
      () => rawArchive(rawLink('a', '/etc'), rawFile('a/passwd', 'x'), rawEnd(2, 1)),
    ],
    ['an entry before its directory', () => rawArchive(rawFile('a/b', 'x'), rawDir('a'), rawEnd(2, 1))],
    ['a repeated path', () => rawArchive(rawFile('a', 'x'), rawFile('a', 'y'), rawEnd(2, 2))],
    ['a wrong end record', () => rawArchive(rawFile('a', 'x'), rawEnd(2, 1))],
    [
      'bytes after the end record',
      () => Buffer.concat([rawArchive(rawFile('a', 'x'), rawEnd(1, 1)), Buffer.from([0])]),
    ],
    ['a missing end record', () => rawArchive(rawFile('a', 'x'))],
    ['a file cut short', () => rawArchive(rawEntry(1, 'a', u64(10n)), Buffer.from('abc'))],
    ['an unknown entry type', () => rawArchive(rawEntry(9, 'a'))],
    ['mode bits beyond 0o7777', () => rawArchive(rawEntry(2, 'a', Buffer.alloc(0), 0o10000))],
    ['no archive header', () => rawFile('a', 'x')],
    ['an unknown compression', () => Buffer.concat([Buffer.from('SRAR\x02\x07', 'latin1'), rawEnd(0, 0)])],
    ['an unknown version', () => Buffer.concat([Buffer.from('SRAR\x03\x00', 'latin1'), rawEnd(0, 0)])],
  ];
  const refusalsInVersion2: [string, Buffer][] = [
    ['a hard link to nothing', rawArchive(rawHardLink('h', 'missing'), rawEnd(1, 0))],
    ['a hard link to a directory', rawArchive(rawDir('d'), rawHardLink('h', 'd'), rawEnd(2, 0))],
    [
      'a hard link to a symlink',
      rawArchive(rawLink('l', '/etc/passwd'), rawHardLink('h', 'l'), rawEnd(2, 0)),
    ],
    ['a hard link to a later file', rawArchive(rawHardLink('h', 'f'), rawFile('f', 'x'), rawEnd(2, 1))],
    ['a hard link to itself', rawArchive(rawHardLink('h', 'h'), rawEnd(1, 0))],
    ['an unknown file state', rawArchive(rawFile('f', 'x', 2), rawEnd(1, 1))],
  ];
  const refusalsInVersion1: [string, Buffer][] = inVersion(1, () => [
    ['a hard link', rawArchive(rawFile('f', 'x'), rawHardLink('h', 'f'), rawEnd(2, 1))],
    ['a path that is not UTF-8', rawArchive(rawFile(latin1Name, 'x'), rawEnd(1, 1))],
    ['a symlink target that is not UTF-8', rawArchive(rawLink('l', latin1Name), rawEnd(1, 0))],
  ]);
  for (const [what, build] of refusals) {
    for (const v of [1, 2]) {
      it(`refuses ${what} as a DamagedBackupError (version ${v})`, async () => {
        await assert.rejects(readAll(inVersion(v, build), zlibCodec), DamagedBackupError);
      });
    }
  }
  for (const [what, bytes] of [
    ...refusalsInVersion2.map(([w, b]) => [`${w} (version 2)`, b] as const),
    ...refusalsInVersion1.map(([w, b]) => [`${w} (version 1)`, b] as const),
  ]) {
    it(`refuses ${what} as a DamagedBackupError`, async () => {
      await assert.rejects(readAll(bytes, zlibCodec), DamagedBackupError);
    });
  }
  it('accepts the good twins of the hard-link refusals (so the refusals test the links)', async () => {
    const read = await readAll(rawArchive(rawFile('f', 'x'), rawHardLink('h', 'f'), rawEnd(2, 1)));
    assert.deepEqual(
      read.map((e) => e.type),
      ['file', 'hardlink'],
    );
  });
});

async function* listOf(list: WriteEntry[]): AsyncGenerator<WriteEntry> {
  yield* list;
}
