// The archive inside a backup stream's plaintext (docs/FORMAT.md "Archive"): a sequence of entries
// (regular files, directories, symlinks) with modes and mtimes, optionally deflate-compressed.
//
//   archive  = "SRAR" || version (u8 = 1) || compression (u8: 0 none, 1 deflate RFC 1950) || body
//   body     = entry* || end                       (the whole body compressed when compression = 1)
//   entry    = type (u8: 1 file, 2 directory, 3 symlink) || path length (u16 BE) || path (UTF-8)
//              || mode (u16 BE, permission bits) || mtime (i64 BE, nanoseconds since 1970 UTC)
//              || file: size (u64 BE) || content (size bytes)
//              || symlink: target length (u16 BE) || target (UTF-8)
//   end      = 0x00 || entry count (u64 BE) || content bytes (u64 BE)
import { DamagedBackupError } from '../errors.ts';
import { PieceReader } from './reader.ts';

export const ARCHIVE_MAGIC = Uint8Array.of(0x53, 0x52, 0x41, 0x52); // "SRAR"
export const ARCHIVE_VERSION = 1;
export const MAX_PATH_BYTES = 4096;

type Compression = 'none' | 'deflate';
const COMPRESSION_CODES: Record<Compression, number> = { none: 0, deflate: 1 };

/** Turns a byte sequence into its compressed form or back (node:zlib or CompressionStream). */
export interface Codec {
  compress(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
  decompress(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
}

interface EntryBase {
  /** Relative, '/'-separated; see `checkEntryPath`. */
  readonly path: string;
  /** Permission bits (0o7777). */
  readonly mode: number;
  /** Modification time in nanoseconds since 1970-01-01 UTC. */
  readonly mtimeNs: bigint;
}
export interface FileEntry extends EntryBase {
  readonly type: 'file';
  readonly size: number;
}
export interface DirectoryEntry extends EntryBase {
  readonly type: 'directory';
}
export interface SymlinkEntry extends EntryBase {
  readonly type: 'symlink';
  readonly target: string;
}
export type ArchiveEntry = FileEntry | DirectoryEntry | SymlinkEntry;

const TYPE_CODES = { file: 1, directory: 2, symlink: 3 } as const;
const END = 0;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

const forged = (what: string) =>
  new DamagedBackupError(`the backup's archive is malformed: ${what}`, {
    hints: [
      'it decrypted with your key, so it was made with it, but not by a correct Strongroom; nothing was kept',
    ],
  });

/**
 * Rejects a path that could land outside the restore directory or is not canonical: it must be
 * relative, '/'-separated, with no empty, '.' or '..' component and no NUL byte.
 */
export function checkEntryPath(path: string): void {
  const components = path.split('/');
  const bad = components.find((c) => c === '' || c === '.' || c === '..' || c.includes('\0'));
  if (path.length === 0 || bad !== undefined) {
    throw forged(`entry path ${JSON.stringify(path)} would land outside the destination; refusing it`);
  }
}

function encodeArchiveHeader(compression: Compression): Uint8Array {
  return Uint8Array.of(...ARCHIVE_MAGIC, ARCHIVE_VERSION, COMPRESSION_CODES[compression]);
}

/** The bytes of an entry up to (not including) a file's content. */
function encodeEntry(entry: ArchiveEntry): Uint8Array {
  checkEntryPath(entry.path);
  const path = encoder.encode(entry.path);
  if (path.length > MAX_PATH_BYTES)
    throw new RangeError(`path longer than ${MAX_PATH_BYTES} bytes: ${entry.path}`);
  const target = entry.type === 'symlink' ? encoder.encode(entry.target) : new Uint8Array(0);
  if (target.length > MAX_PATH_BYTES) throw new RangeError(`symlink target too long: ${entry.path}`);
  const tail = entry.type === 'file' ? 8 : entry.type === 'symlink' ? 2 + target.length : 0;
  const out = new Uint8Array(1 + 2 + path.length + 2 + 8 + tail);
  const view = new DataView(out.buffer);
  out[0] = TYPE_CODES[entry.type];
  view.setUint16(1, path.length);
  out.set(path, 3);
  let offset = 3 + path.length;
  view.setUint16(offset, entry.mode & 0o7777);
  view.setBigInt64(offset + 2, entry.mtimeNs);
  offset += 10;
  if (entry.type === 'file') view.setBigUint64(offset, BigInt(entry.size));
  if (entry.type === 'symlink') {
    view.setUint16(offset, target.length);
    out.set(target, offset + 2);
  }
  return out;
}

function encodeArchiveEnd(entries: number, contentBytes: number): Uint8Array {
  const out = new Uint8Array(17);
  const view = new DataView(out.buffer);
  out[0] = END;
  view.setBigUint64(1, BigInt(entries));
  view.setBigUint64(9, BigInt(contentBytes));
  return out;
}

/** One entry to write: a file's content comes with it and must be exactly `size` bytes long. */
export type WriteEntry =
  | (FileEntry & { readonly content: AsyncIterable<Uint8Array> })
  | DirectoryEntry
  | SymlinkEntry;

/**
 * Writes an archive of `entries` (a directory before what it contains), compressed with `codec`
 * when given. A file whose content is not exactly its announced size (it changed while being read)
 * fails the archive rather than write an entry that lies about itself.
 */
export function writeArchive(entries: AsyncIterable<WriteEntry>, codec?: Codec): AsyncIterable<Uint8Array> {
  async function* body(): AsyncGenerator<Uint8Array> {
    let count = 0;
    let contentBytes = 0;
    for await (const entry of entries) {
      yield encodeEntry(entry);
      count++;
      if (entry.type !== 'file') continue;
      let read = 0;
      for await (const piece of entry.content) {
        read += piece.length;
        if (read > entry.size) break;
        yield piece;
      }
      if (read !== entry.size) {
        throw new Error(
          `${entry.path} changed while it was being backed up (size ${entry.size}, read ${read}); try again`,
        );
      }
      contentBytes += read;
    }
    yield encodeArchiveEnd(count, contentBytes);
  }
  async function* archive(): AsyncGenerator<Uint8Array> {
    yield encodeArchiveHeader(codec === undefined ? 'none' : 'deflate');
    yield* codec === undefined ? body() : codec.compress(body());
  }
  return archive();
}

/** One entry read from an archive; a file's `content` must be read (or is skipped) before the next. */
export type ReadEntry =
  | (FileEntry & { readonly content: AsyncIterable<Uint8Array> })
  | DirectoryEntry
  | SymlinkEntry;

/**
 * Parses an archive. Checks every path (`checkEntryPath`), that each entry's parent is a directory
 * entry seen earlier (so no entry is ever written through a symlink), that no path repeats, and
 * that the end record matches what was read and nothing follows it.
 */
export async function* readArchive(
  source: AsyncIterable<Uint8Array>,
  codec?: Codec,
): AsyncGenerator<ReadEntry> {
  const outer = new PieceReader(source);
  const head = await outer.readExact(6);
  if (head === null || !ARCHIVE_MAGIC.every((b, i) => head[i] === b) || head[4] !== ARCHIVE_VERSION) {
    throw forged('it does not start with an archive header');
  }
  let reader = outer;
  if (head[5] === COMPRESSION_CODES.deflate) {
    if (codec === undefined) throw forged('it is compressed, and no decompressor was given');
    reader = new PieceReader(codec.decompress(remainder(outer)));
  } else if (head[5] !== COMPRESSION_CODES.none) {
    throw forged(`unknown compression ${head[5]}`);
  }
  const seen = new Map<string, ArchiveEntry['type']>();
  let contentBytes = 0;
  try {
    for (;;) {
      const type = await need(reader, 1);
      if (type[0] === END) {
        const end = dataView(await need(reader, 16));
        if (end.getBigUint64(0) !== BigInt(seen.size) || end.getBigUint64(8) !== BigInt(contentBytes)) {
          throw forged('its end record does not match its entries');
        }
        // The outer check also drains the stream underneath, so its final chunk has verified
        // before this generator returns.
        if (!(await reader.atEnd()) || !(await outer.atEnd())) throw forged('bytes follow its end record');
        return;
      }
      const entry = await readEntry(reader, type[0]!);
      const slash = entry.path.lastIndexOf('/');
      if (slash >= 0 && seen.get(entry.path.slice(0, slash)) !== 'directory') {
        throw forged(
          `entry ${JSON.stringify(entry.path)} comes before its directory or sits under a non-directory`,
        );
      }
      if (seen.has(entry.path)) throw forged(`entry ${JSON.stringify(entry.path)} appears twice`);
      seen.set(entry.path, entry.type);
      if (entry.type !== 'file') {
        yield entry;
        continue;
      }
      let left = entry.size;
      contentBytes += entry.size;
      async function* content(): AsyncGenerator<Uint8Array> {
        while (left > 0) {
          const { pieces, total } = await reader.read(Math.min(left, 1 << 20));
          if (total === 0) throw forged(`file ${JSON.stringify(entry.path)} is cut short`);
          left -= total;
          yield* pieces;
        }
      }
      yield { ...entry, content: content() };
      // Skip whatever the caller did not read: a fresh generator over the same `left`, since the
      // caller may have closed the first one.
      for await (const _ of content());
    }
  } finally {
    await reader.close();
    await outer.close();
  }
}

async function* remainder(reader: PieceReader): AsyncGenerator<Uint8Array> {
  for (;;) {
    const { pieces, total } = await reader.read(1 << 16);
    if (total === 0) return;
    yield* pieces;
  }
}

const dataView = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

async function need(reader: PieceReader, length: number): Promise<Uint8Array> {
  const bytes = await reader.readExact(length);
  if (bytes === null) throw forged('it ends in the middle of an entry');
  return bytes;
}

async function readText(reader: PieceReader): Promise<string> {
  const length = dataView(await need(reader, 2)).getUint16(0);
  if (length > MAX_PATH_BYTES) throw forged('a path is too long');
  try {
    return decoder.decode(await need(reader, length));
  } catch (error) {
    if (error instanceof DamagedBackupError) throw error;
    throw forged('a path is not UTF-8');
  }
}

async function readEntry(
  reader: PieceReader,
  typeCode: number,
): Promise<FileEntry | DirectoryEntry | SymlinkEntry> {
  const type = (Object.keys(TYPE_CODES) as ArchiveEntry['type'][]).find((t) => TYPE_CODES[t] === typeCode);
  if (type === undefined) throw forged(`unknown entry type ${typeCode}`);
  const path = await readText(reader);
  checkEntryPath(path);
  const fixed = dataView(await need(reader, 10));
  const mode = fixed.getUint16(0);
  if (mode > 0o7777) throw forged(`entry ${JSON.stringify(path)} has mode bits beyond 0o7777`);
  const mtimeNs = fixed.getBigInt64(2);
  if (type === 'directory') return { type, path, mode, mtimeNs };
  if (type === 'symlink') return { type, path, mode, mtimeNs, target: await readText(reader) };
  const size = dataView(await need(reader, 8)).getBigUint64(0);
  if (size > BigInt(Number.MAX_SAFE_INTEGER))
    throw forged(`file ${JSON.stringify(path)} is impossibly large`);
  return { type, path, mode, mtimeNs, size: Number(size) };
}
