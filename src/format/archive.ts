// The archive inside a backup stream's plaintext (docs/FORMAT.md §6 "Archive"): a sequence of
// entries (regular files, directories, symlinks, hard links) with modes, mtimes and owners,
// optionally deflate-compressed. Writes version 2; reads versions 1 and 2.
//
//   archive  = "SRAR" || version (u8 = 2) || compression (u8: 0 none, 1 deflate RFC 1950) || body
//   body     = entry* || end                       (the whole body compressed when compression = 1)
//   entry    = type (u8: 1 file, 2 directory, 3 symlink, 4 hard link) || path length (u16 BE)
//              || path (bytes) || mode (u16 BE, permission bits) || mtime (i64 BE, ns since 1970 UTC)
//              || uid (u32 BE) || gid (u32 BE)
//              || file: size (u64 BE) || content (size bytes) || state (u8: 0 intact, 1 changed)
//              || symlink: target length (u16 BE) || target (bytes)
//              || hard link: target length (u16 BE) || target (path of an earlier file entry)
//   end      = 0x00 || entry count (u64 BE) || content bytes (u64 BE)
// Version 1 has no uid, gid, state or hard links, and its paths and targets must be UTF-8.
import { DamagedBackupError } from '../errors.ts';
import { PieceReader } from './reader.ts';

export const ARCHIVE_MAGIC = Uint8Array.of(0x53, 0x52, 0x41, 0x52); // "SRAR"
export const ARCHIVE_VERSION = 2;
const READABLE_VERSIONS = new Set([1, 2]);
export const MAX_PATH_BYTES = 4096;

type Compression = 'none' | 'deflate';
const COMPRESSION_CODES: Record<Compression, number> = { none: 0, deflate: 1 };

/** Turns a byte sequence into its compressed form or back (node:zlib or CompressionStream). */
export interface Codec {
  compress(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
  decompress(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
}

interface EntryBase {
  /**
   * Relative, '/'-separated; see `checkEntryPath`. When the name on disk is not UTF-8 this is a
   * readable form of it (U+FFFD for the bytes that are not) and `rawPath` holds the exact bytes.
   */
  readonly path: string;
  /** The path's exact bytes, present only when they are not UTF-8 (docs/FORMAT.md §6). */
  readonly rawPath?: Uint8Array;
  /** Permission bits (0o7777). */
  readonly mode: number;
  /** Modification time in nanoseconds since 1970-01-01 UTC. */
  readonly mtimeNs: bigint;
  /** Numeric owner and group; absent in version 1 archives. */
  readonly uid?: number;
  readonly gid?: number;
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
  /** The target's exact bytes, present only when they are not UTF-8. */
  readonly rawTarget?: Uint8Array;
}
/** Another name for the file entry at `target`, which came earlier (same content, mode, owner). */
export interface HardLinkEntry extends EntryBase {
  readonly type: 'hardlink';
  readonly target: string;
  readonly rawTarget?: Uint8Array;
}
export type ArchiveEntry = FileEntry | DirectoryEntry | SymlinkEntry | HardLinkEntry;

const TYPE_CODES = { file: 1, directory: 2, symlink: 3, hardlink: 4 } as const;
const END = 0;
const SLASH = 0x2f;
const DOT = 0x2e;
const encoder = new TextEncoder();
// ignoreBOM: a name may begin with U+FEFF, and it is part of the name; by default a TextDecoder
// drops it, and the name would be restored without it.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossyDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

const forged = (what: string) =>
  new DamagedBackupError(`the backup's archive is malformed: ${what}`, {
    hints: [
      'it decrypted with your key, so it was made with it, but not by a correct Strongroom; nothing was kept',
    ],
  });

/** A name as text plus, when it is not UTF-8, its exact bytes (the `path`/`rawPath` pairs above). */
export function nameOf(bytes: Uint8Array): { text: string; raw?: Uint8Array } {
  try {
    return { text: strictDecoder.decode(bytes) };
  } catch {
    return { text: lossyDecoder.decode(bytes), raw: bytes };
  }
}

/** The exact bytes of an entry's path. */
export const pathBytes = (entry: { path: string; rawPath?: Uint8Array }): Uint8Array =>
  entry.rawPath ?? encoder.encode(entry.path);

/** The exact bytes of a symlink's or hard link's target. */
const targetBytes = (entry: { target: string; rawTarget?: Uint8Array }): Uint8Array =>
  entry.rawTarget ?? encoder.encode(entry.target);

/** A string that is equal for two paths exactly when their bytes are (one char per byte). */
const keyOf = (bytes: Uint8Array): string => String.fromCharCode(...bytes);

/**
 * Rejects a path that could land outside the restore directory or is not canonical: it must be
 * relative, '/'-separated, with no empty, '.' or '..' component and no NUL byte.
 */
export function checkEntryPath(path: Uint8Array): void {
  let start = 0;
  let bad = path.length === 0 || path.includes(0);
  for (let i = 0; i <= path.length && !bad; i++) {
    if (i < path.length && path[i] !== SLASH) continue;
    const length = i - start;
    bad =
      length === 0 ||
      (length === 1 && path[start] === DOT) ||
      (length === 2 && path[start] === DOT && path[start + 1] === DOT);
    start = i + 1;
  }
  if (bad) {
    throw forged(
      `entry path ${JSON.stringify(nameOf(path).text)} would land outside the destination; refusing it`,
    );
  }
}

function encodeArchiveHeader(compression: Compression): Uint8Array {
  return Uint8Array.of(...ARCHIVE_MAGIC, ARCHIVE_VERSION, COMPRESSION_CODES[compression]);
}

/** The bytes of an entry up to (not including) a file's content. */
function encodeEntry(entry: ArchiveEntry): Uint8Array {
  const path = pathBytes(entry);
  checkEntryPath(path);
  if (path.length > MAX_PATH_BYTES)
    throw new RangeError(`path longer than ${MAX_PATH_BYTES} bytes: ${entry.path}`);
  const target = entry.type === 'symlink' || entry.type === 'hardlink' ? targetBytes(entry) : null;
  if (target !== null && target.length > MAX_PATH_BYTES)
    throw new RangeError(`link target too long: ${entry.path}`);
  const tail = entry.type === 'file' ? 8 : target === null ? 0 : 2 + target.length;
  const out = new Uint8Array(1 + 2 + path.length + 2 + 8 + 8 + tail);
  const view = new DataView(out.buffer);
  out[0] = TYPE_CODES[entry.type];
  view.setUint16(1, path.length);
  out.set(path, 3);
  let offset = 3 + path.length;
  view.setUint16(offset, entry.mode & 0o7777);
  view.setBigInt64(offset + 2, entry.mtimeNs);
  view.setUint32(offset + 10, entry.uid ?? 0);
  view.setUint32(offset + 14, entry.gid ?? 0);
  offset += 18;
  if (entry.type === 'file') view.setBigUint64(offset, BigInt(entry.size));
  if (target !== null) {
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

const FILE_INTACT = 0;
const FILE_CHANGED = 1;

/**
 * One entry to write. A file's content must be exactly `size` bytes long; `changedWhileRead`, asked
 * once the content has been read, says the file changed meanwhile (its state byte, §6).
 */
export type WriteEntry =
  | (FileEntry & {
      readonly content: AsyncIterable<Uint8Array>;
      readonly changedWhileRead?: () => boolean;
    })
  | DirectoryEntry
  | SymlinkEntry
  | HardLinkEntry;

/**
 * Writes an archive of `entries` (a directory before what it contains, a file before its hard
 * links), compressed with `codec` when given. A file whose content is not exactly its announced
 * size fails the archive rather than write an entry that lies about itself.
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
      yield Uint8Array.of(entry.changedWhileRead?.() ? FILE_CHANGED : FILE_INTACT);
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

/**
 * One entry read from an archive; a file's `content` must be read (or is skipped) before the next.
 * `changedWhileRead()` is known once the content has been read to its end.
 */
export type ReadEntry =
  | (FileEntry & { readonly content: AsyncIterable<Uint8Array>; readonly changedWhileRead: () => boolean })
  | DirectoryEntry
  | SymlinkEntry
  | HardLinkEntry;

/**
 * Parses an archive. Checks every path (`checkEntryPath`), that each entry's parent is a directory
 * entry seen earlier (so no entry is ever written through a symlink), that a hard link names a file
 * entry seen earlier, that no path repeats, and that the end record matches what was read and
 * nothing follows it.
 */
export async function* readArchive(
  source: AsyncIterable<Uint8Array>,
  codec?: Codec,
): AsyncGenerator<ReadEntry> {
  const outer = new PieceReader(source);
  const head = await outer.readExact(6);
  if (head === null || !ARCHIVE_MAGIC.every((b, i) => head[i] === b) || !READABLE_VERSIONS.has(head[4]!)) {
    throw forged('it does not start with an archive header');
  }
  const version = head[4]!;
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
      const entry = await readEntry(reader, type[0]!, version);
      const path = pathBytes(entry);
      const slash = path.lastIndexOf(SLASH);
      if (slash >= 0 && seen.get(keyOf(path.subarray(0, slash))) !== 'directory') {
        throw forged(
          `entry ${JSON.stringify(entry.path)} comes before its directory or sits under a non-directory`,
        );
      }
      if (entry.type === 'hardlink' && seen.get(keyOf(targetBytes(entry))) !== 'file') {
        throw forged(`hard link ${JSON.stringify(entry.path)} does not name an earlier file`);
      }
      if (seen.has(keyOf(path))) throw forged(`entry ${JSON.stringify(entry.path)} appears twice`);
      seen.set(keyOf(path), entry.type);
      if (entry.type !== 'file') {
        yield entry;
        continue;
      }
      let left = entry.size;
      // Version 1 has no state byte: its files are reported intact.
      let changed = false;
      let stateRead = version === 1;
      contentBytes += entry.size;
      async function* content(): AsyncGenerator<Uint8Array> {
        while (left > 0) {
          const { pieces, total } = await reader.read(Math.min(left, 1 << 20));
          if (total === 0) throw forged(`file ${JSON.stringify(entry.path)} is cut short`);
          left -= total;
          yield* pieces;
        }
        if (stateRead) return;
        const state = (await need(reader, 1))[0];
        if (state !== FILE_INTACT && state !== FILE_CHANGED) {
          throw forged(`file ${JSON.stringify(entry.path)} has an unknown state ${state}`);
        }
        stateRead = true;
        changed = state === FILE_CHANGED;
      }
      const changedWhileRead = () => {
        if (!stateRead) throw new Error(`the content of ${entry.path} has not been read to its end`);
        return changed;
      };
      yield { ...entry, content: content(), changedWhileRead };
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

/** A length-prefixed name; version 1 requires UTF-8, version 2 keeps other bytes as they are. */
async function readName(reader: PieceReader, version: number): Promise<{ text: string; raw?: Uint8Array }> {
  const length = dataView(await need(reader, 2)).getUint16(0);
  if (length > MAX_PATH_BYTES) throw forged('a path is too long');
  // A copy: the name outlives the reader's buffer.
  const name = nameOf(Uint8Array.from(await need(reader, length)));
  if (name.raw !== undefined && version === 1) throw forged('a path is not UTF-8');
  return name;
}

async function readEntry(reader: PieceReader, typeCode: number, version: number): Promise<ArchiveEntry> {
  const type = (Object.keys(TYPE_CODES) as ArchiveEntry['type'][]).find((t) => TYPE_CODES[t] === typeCode);
  if (type === undefined || (type === 'hardlink' && version === 1)) {
    throw forged(`unknown entry type ${typeCode}`);
  }
  const name = await readName(reader, version);
  checkEntryPath(name.raw ?? encoder.encode(name.text));
  const path = { path: name.text, ...(name.raw === undefined ? {} : { rawPath: name.raw }) };
  const fixed = dataView(await need(reader, version === 1 ? 10 : 18));
  const mode = fixed.getUint16(0);
  if (mode > 0o7777) throw forged(`entry ${JSON.stringify(name.text)} has mode bits beyond 0o7777`);
  const mtimeNs = fixed.getBigInt64(2);
  const owner = version === 1 ? {} : { uid: fixed.getUint32(10), gid: fixed.getUint32(14) };
  const common = { ...path, mode, mtimeNs, ...owner };
  if (type === 'directory') return { type, ...common };
  if (type === 'symlink' || type === 'hardlink') {
    const target = await readName(reader, version);
    return {
      type,
      ...common,
      target: target.text,
      ...(target.raw === undefined ? {} : { rawTarget: target.raw }),
    };
  }
  const size = dataView(await need(reader, 8)).getBigUint64(0);
  if (size > BigInt(Number.MAX_SAFE_INTEGER))
    throw forged(`file ${JSON.stringify(name.text)} is impossibly large`);
  return { type, ...common, size: Number(size) };
}
