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

async function readAll(bytes: Uint8Array, codec?: Codec) {
  const out: (Omit<ReadEntry, 'content'> & { data?: Buffer })[] = [];
  for await (const entry of readArchive(once(bytes), codec)) {
    if (entry.type === 'file') {
      const { content, ...rest } = entry;
      out.push({ ...rest, data: await collect(content) });
    } else out.push(entry);
  }
  return out;
}

const text = Buffer.from('hello archive '.repeat(500));
const entries = (): WriteEntry[] => [
  { type: 'directory', path: 'chat', mode: 0o755, mtimeNs: 1_700_000_000_123_456_789n },
  {
    type: 'file',
    path: 'chat/messages.db',
    mode: 0o600,
    mtimeNs: 1_700_000_001_000_000_000n,
    size: text.length,
    content: once(text.subarray(0, 10), text.subarray(10)),
  },
  { type: 'file', path: 'chat/empty', mode: 0o644, mtimeNs: -5_000_000_000n, size: 0, content: once() },
  { type: 'symlink', path: 'chat/latest', mode: 0o777, mtimeNs: 1n, target: 'messages.db' },
  { type: 'directory', path: 'chat/media 📷', mode: 0o700, mtimeNs: 2n },
];

// Spec encoding, independent of src/format/archive.ts.
function u16(n: number) {
  return Buffer.from([n >> 8, n & 0xff]);
}
function u64(n: bigint) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
function rawEntry(type: number, path: string, extra: Buffer = Buffer.alloc(0), mode = 0o644) {
  const p = Buffer.from(path);
  return Buffer.concat([Buffer.from([type]), u16(p.length), p, u16(mode), u64(0n), extra]);
}
const rawFile = (path: string, content: string) =>
  rawEntry(1, path, Buffer.concat([u64(BigInt(content.length)), Buffer.from(content)]));
const rawDir = (path: string) => rawEntry(2, path);
const rawLink = (path: string, target: string) =>
  rawEntry(3, path, Buffer.concat([u16(target.length), Buffer.from(target)]));
const rawEnd = (count: number, bytes: number) =>
  Buffer.concat([Buffer.from([0]), u64(BigInt(count)), u64(BigInt(bytes))]);
const rawArchive = (...parts: Buffer[]) => Buffer.concat([Buffer.from('SRAR\x01\x00', 'latin1'), ...parts]);

describe('archive', () => {
  for (const [label, writer, reader] of [
    ['uncompressed', undefined, undefined],
    ['zlib', zlibCodec, zlibCodec],
    ['zlib → CompressionStream', zlibCodec, webCodec],
    ['CompressionStream → zlib', webCodec, zlibCodec],
  ] as const) {
    it(`round-trips files, directories, symlinks, modes and mtimes (${label})`, async () => {
      const bytes = await collect(writeArchive(listOf(entries()), writer));
      const read = await readAll(bytes, reader);
      assert.deepEqual(
        read,
        entries().map((e) =>
          e.type === 'file'
            ? { ...withoutContent(e), data: e.path.endsWith('db') ? text : Buffer.alloc(0) }
            : e,
        ),
      );
      if (writer !== undefined) assert.ok(bytes.length < text.length / 4, 'compressed');
    });
  }

  it('matches the spec layout byte for byte', async () => {
    const bytes = await collect(
      writeArchive(
        listOf([
          { type: 'directory', path: 'd', mode: 0o644, mtimeNs: 0n },
          { type: 'file', path: 'd/f', mode: 0o644, mtimeNs: 0n, size: 2, content: once(Buffer.from('hi')) },
          { type: 'symlink', path: 'd/l', mode: 0o644, mtimeNs: 0n, target: 'f' },
        ]),
      ),
    );
    assert.deepEqual(bytes, rawArchive(rawDir('d'), rawFile('d/f', 'hi'), rawLink('d/l', 'f'), rawEnd(3, 2)));
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

  const refusals: [string, Buffer][] = [
    ['a parent directory component', rawArchive(rawFile('../evil', 'x'), rawEnd(1, 1))],
    ['a nested parent component', rawArchive(rawDir('a'), rawFile('a/../../evil', 'x'), rawEnd(2, 1))],
    ['an absolute path', rawArchive(rawFile('/etc/evil', 'x'), rawEnd(1, 1))],
    ['a dot component', rawArchive(rawFile('./evil', 'x'), rawEnd(1, 1))],
    ['an empty path', rawArchive(rawFile('', 'x'), rawEnd(1, 1))],
    ['an entry under a symlink', rawArchive(rawLink('a', '/etc'), rawFile('a/passwd', 'x'), rawEnd(2, 1))],
    ['an entry before its directory', rawArchive(rawFile('a/b', 'x'), rawDir('a'), rawEnd(2, 1))],
    ['a repeated path', rawArchive(rawFile('a', 'x'), rawFile('a', 'y'), rawEnd(2, 2))],
    ['a wrong end record', rawArchive(rawFile('a', 'x'), rawEnd(2, 1))],
    [
      'bytes after the end record',
      Buffer.concat([rawArchive(rawFile('a', 'x'), rawEnd(1, 1)), Buffer.from([0])]),
    ],
    ['a missing end record', rawArchive(rawFile('a', 'x'))],
    ['a file cut short', rawArchive(rawEntry(1, 'a', u64(10n)), Buffer.from('abc'))],
    ['an unknown entry type', rawArchive(rawEntry(9, 'a'))],
    ['mode bits beyond 0o7777', rawArchive(rawEntry(2, 'a', Buffer.alloc(0), 0o10000))],
    ['no archive header', rawFile('a', 'x')],
    ['an unknown compression', Buffer.concat([Buffer.from('SRAR\x01\x07', 'latin1'), rawEnd(0, 0)])],
  ];
  for (const [what, bytes] of refusals) {
    it(`refuses ${what} as a DamagedBackupError`, async () => {
      await assert.rejects(readAll(bytes, zlibCodec), DamagedBackupError);
    });
  }
});

function withoutContent(entry: WriteEntry) {
  if (entry.type !== 'file') return entry;
  const { content: _, ...rest } = entry;
  return rest;
}
async function* listOf(list: WriteEntry[]): AsyncGenerator<WriteEntry> {
  yield* list;
}
