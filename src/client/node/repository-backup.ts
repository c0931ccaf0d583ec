// Snapshots of paths on disk in a repository, and their restore (docs/BACKUP.md "Repositories";
// docs/FORMAT.md §12): files are cut into content-defined chunks under the repository's gear seed,
// each chunk and each directory's tree stored once, whatever file, directory or snapshot it is in.
// The walk is archive-fs's (§6: exact name bytes, owners, hard links, mount points, what cannot be
// read skipped by name); a file unchanged since the parent snapshot is not read (parent-snapshot.ts).
import type { BigIntStats } from 'node:fs';
import { type FileHandle, link, mkdir, open, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DamagedBackupError, StrongroomError } from '../../errors.ts';
import { MAX_PATH_BYTES } from '../../format/archive.ts';
import { removeDeadTemporaries, temporaryName, trackTemporary } from '../../temporaries.ts';
import { ContentDefinedChunker } from '../repository/chunker.ts';
import { escapeName, splitSnapshotPath } from '../repository/escaped-names.ts';
import { ObjectType } from '../repository/objects.ts';
import { RepositoryReader } from '../repository/reader.ts';
import type { Repository, SnapshotInfo } from '../repository/repository.ts';
import { findSnapshotPath } from '../repository/snapshot-path.ts';
import {
  encodeTree,
  nameBytesOf,
  type Tree,
  type TreeEntry,
  targetBytesOf,
  textFields,
} from '../repository/tree.ts';
import { RepositoryWriter } from '../repository/writer.ts';
import {
  type PlannedEntry,
  type PlanOptions,
  readChecked,
  readSmallFile,
  reasonOf,
  type SkippedEntry,
  SMALL_FILE_BYTES,
  walkPaths,
} from './archive-fs.ts';
import { applyMetadata, applySymlinkMetadata, writeSparseFile } from './entry-metadata.ts';
import { checkDestination } from './extract.ts';
import { chooseParent, type EntriesByName, nameKey, ParentSnapshot } from './parent-snapshot.ts';

/**
 * Cuts byte streams into chunks (ContentDefinedChunker is the one repositories use, §12.12). One
 * chunker cuts every file of a run in turn: `finish` ends a file and readies it for the next.
 */
export interface Chunker {
  push(data: Uint8Array): Uint8Array[];
  finish(): Uint8Array | undefined;
}
/** Makes a chunker keyed with the repository's 32-byte gear seed. */
export type ChunkerFactory = (gearSeed: Uint8Array) => Chunker;

const defaultChunker: ChunkerFactory = (gearSeed) => new ContentDefinedChunker(gearSeed);

export interface SnapshotOptions extends PlanOptions {
  /** The content-defined chunker with its default sizes unless a test says otherwise. */
  chunker?: ChunkerFactory;
  /**
   * When the run starts: the snapshot's time, and what the next run's racy check measures against
   * (§12.7 "Parent snapshot"). Now, unless a test says otherwise.
   */
  time?: Date;
  /**
   * The snapshot whose unchanged files are not read again (an id); by default the latest snapshot
   * of the same paths; null to read every file.
   */
  parent?: string | null;
  /** Told the bytes of each block of file content read, as it is read (for progress). */
  onBytes?: (bytes: number) => void;
  /**
   * Told the size of each file not read: unchanged since the parent, or another name of a file
   * read in this run (for progress: with onBytes, every file's size is told once).
   */
  onReused?: (bytes: number) => void;
  /**
   * The writer's lock the run holds (withWriterLock), checked before the snapshot is stored: a run
   * whose lock lapsed may name blobs a prune has deleted meanwhile (docs/FORMAT.md §12.15).
   */
  lock?: { assertHeld(step: string): void };
}

/** A new snapshot, with what the run read and what it could not back up faithfully. */
export interface CreatedSnapshot extends SnapshotInfo {
  /** The parent snapshot compared against, if any. */
  readonly parent: string | null;
  /** Files whose contents were read and chunked. */
  readonly filesRead: number;
  /** Files not read: unchanged since the parent, or another name of a file read in this run. */
  readonly filesReused: number;
  /** Left out by design: sockets, FIFOs, devices, contents of virtual or (oneFileSystem) other file systems. */
  readonly skipped: readonly SkippedEntry[];
  /**
   * Left out because they could not be read, or stored but changed while being read (docs/BACKUP.md
   * "Incomplete backups"); empty when `complete`.
   */
  readonly problems: readonly SkippedEntry[];
  readonly complete: boolean;
}

/** A directory being backed up: its entries so far, and the parent snapshot's entries for it. */
interface OpenDirectory {
  readonly walked: PlannedEntry & { readonly info: BigIntStats; readonly name: Buffer };
  readonly children: TreeEntry[];
  readonly parentEntries: EntriesByName | null;
}

/**
 * Backs up `paths` (each under its base name) as a new snapshot. Trees are stored as their
 * directories complete, so memory holds only the directories on the current path (docs/FORMAT.md
 * §12.7). Entries that cannot be read are left out and listed in `problems`.
 */
export async function createSnapshot(
  repository: Repository,
  paths: readonly string[],
  options: SnapshotOptions = {},
): Promise<CreatedSnapshot> {
  const time = (options.time ?? new Date()).toISOString();
  const resolved = paths.map((path) => resolve(path));
  const writer = await RepositoryWriter.start(repository);
  try {
    return await writeSnapshot(writer, repository, resolved, time, options);
  } catch (error) {
    writer.abandon(error);
    throw error;
  }
}

async function writeSnapshot(
  writer: RepositoryWriter,
  repository: Repository,
  resolved: readonly string[],
  time: string,
  options: SnapshotOptions,
): Promise<CreatedSnapshot> {
  const reader = RepositoryReader.withIndex(repository, writer.known);
  const parentInfo = await chooseParent(repository, resolved, options.parent);
  const parent = parentInfo === null ? null : await ParentSnapshot.open(reader, parentInfo);
  const chunker = (options.chunker ?? defaultChunker)(repository.keys.gearSeed);
  const skipped: SkippedEntry[] = [];
  const problems: SkippedEntry[] = [];
  const totals = { files: 0, size: 0, filesRead: 0, filesReused: 0 };
  // The entry stored for the first name of each multiply linked file (`dev:ino`) in this run (null
  // when it could not be read).
  const linked = new Map<string, TreeEntry | null>();
  const root: TreeEntry[] = [];
  const rootParent = parent === null ? null : await parent.root();
  const open: OpenDirectory[] = [];
  const listener = {
    skipped: (s: SkippedEntry) => skipped.push(s),
    problem: (p: SkippedEntry) => problems.push(p),
  };

  for await (const step of walkPaths(resolved, options, listener)) {
    const here = open.at(-1);
    const siblings = here?.children ?? root;
    const parentEntries = here === undefined ? rootParent : here.parentEntries;
    if (step.kind === 'leave') {
      const done = open.pop()!;
      const tree = await writer.add(ObjectType.tree, encodeTree({ entries: done.children }));
      const stored = commonFields('dir', done.walked, done.walked.name, done.walked.info);
      stored.tree = tree;
      (open.at(-1)?.children ?? root).push(stored);
      continue;
    }
    const { entry, name, info } = step;
    const before = parentEntries?.get(nameKey(name));
    if (entry.type === 'directory') {
      const inside = parent === null ? null : await parent.inside(before);
      open.push({ walked: { ...entry, info, name }, children: [], parentEntries: inside });
      continue;
    }
    if (entry.type === 'symlink') {
      const stored = await symlinkEntry(entry, name, info, listener);
      if (stored !== null) siblings.push(stored);
      continue;
    }
    const inode = `${info.dev}:${info.ino}`;
    const first = entry.inode === undefined ? null : (linked.get(inode) ?? null);
    if (first !== null) {
      // Another name of a file this run stored is that file.
      siblings.push(
        fileEntry(entry, name, info, {
          size: first.size!,
          content: first.content!,
          changed: first.changed === true,
        }),
      );
      totals.filesReused++;
      totals.files++;
      options.onReused?.(first.size!);
      continue;
    }
    // A file the parent has unchanged is reused only if every chunk is still indexed (a prune
    // may have run since).
    const unchanged = parent?.reusableContent(before, info) ?? null;
    let stored: TreeEntry | null;
    if (unchanged?.every((id) => writer.known.has(id))) {
      stored = fileEntry(entry, name, info, {
        size: Number(info.size),
        content: unchanged,
        changed: false,
      });
      totals.filesReused++;
      totals.files++;
      totals.size += stored.size!;
      options.onReused?.(stored.size!);
    } else {
      stored = await readFileEntry(writer, chunker, entry, name, listener, options.onBytes);
      if (stored !== null) {
        totals.filesRead++;
        totals.files++;
        totals.size += stored.size!;
      }
    }
    if (stored !== null) siblings.push(stored);
    if (entry.inode !== undefined) linked.set(inode, stored);
  }
  const tree = await writer.add(ObjectType.tree, encodeTree({ entries: root }));
  options.lock?.assertHeld('storing the snapshot');
  const snapshot = await writer.commit({
    time,
    paths: resolved,
    tree,
    files: totals.files,
    size: totals.size,
  });
  return {
    ...snapshot,
    parent: parentInfo?.id ?? null,
    filesRead: totals.filesRead,
    filesReused: totals.filesReused,
    skipped,
    problems,
    complete: problems.length === 0,
  };
}

/** The fields every entry has (§12.7), from the walk's lstat. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The fields every kind of entry has, for the caller to add its kind's own to. Optional fields are
 * assigned when present rather than spread in: an entry is built once per file, and spreading
 * objects into a literal was one of the costs a backup of many small files paid per file.
 */
function commonFields(
  kind: TreeEntry['kind'],
  entry: PlannedEntry,
  name: Buffer,
  info: BigIntStats,
): Writable<TreeEntry> {
  const { text, raw } = textFields(name);
  const stored: Writable<TreeEntry> = {
    name: text,
    kind,
    mode: Number(info.mode & 0o7777n),
    uid: Number(info.uid),
    gid: Number(info.gid),
    mtimeNs: String(entry.mtimeNs),
  };
  if (raw !== undefined) stored.rawName = raw;
  return stored;
}

function fileEntry(
  entry: PlannedEntry,
  name: Buffer,
  info: BigIntStats,
  content: { size: number; content: readonly string[]; changed: boolean },
): TreeEntry {
  const stored = commonFields('file', entry, name, info);
  stored.ctimeNs = String(info.ctimeNs);
  stored.inode = String(info.ino);
  stored.device = String(info.dev);
  if (info.nlink > 1n) stored.links = Number(info.nlink);
  stored.size = content.size;
  stored.content = content.content;
  if (content.changed) stored.changed = true;
  return stored;
}

async function symlinkEntry(
  entry: PlannedEntry,
  name: Buffer,
  info: BigIntStats,
  listener: { problem(p: SkippedEntry): void },
): Promise<TreeEntry | null> {
  let target: Buffer;
  try {
    target = await readlink(entry.source, { encoding: 'buffer' });
  } catch (error) {
    listener.problem({ path: escapeName(entry.source), reason: reasonOf(error) });
    return null;
  }
  if (target.length > MAX_PATH_BYTES) {
    listener.problem({
      path: escapeName(entry.source),
      reason: `its target is longer than ${MAX_PATH_BYTES} bytes`,
    });
    return null;
  }
  const { text, raw } = textFields(target);
  const stored = commonFields('symlink', entry, name, info);
  stored.target = text;
  if (raw !== undefined) stored.rawTarget = raw;
  return stored;
}

/**
 * Reads and chunks a file. Its entry takes the metadata of the open file (fstat before the read),
 * and is marked changed, and reported, when the file changed while it was read (§6 "state"). A
 * small file is read whole with synchronous calls (docs/ARCHITECTURE.md "Small files and the
 * walk"), a large one block by block.
 */
async function readFileEntry(
  writer: RepositoryWriter,
  chunker: Chunker,
  entry: PlannedEntry,
  name: Buffer,
  listener: { problem(p: SkippedEntry): void },
  onBytes: ((bytes: number) => void) | undefined,
): Promise<TreeEntry | null> {
  const path = escapeName(entry.source);
  const problem = (reason: string) => listener.problem({ path, reason });
  if (entry.size <= SMALL_FILE_BYTES) {
    let small: ReturnType<typeof readSmallFile>;
    try {
      small = readSmallFile(entry.source);
    } catch (error) {
      problem(reasonOf(error));
      return null;
    }
    if (small !== null) {
      onBytes?.(small.content.length);
      if (small.failure !== null) problem(small.failure);
      return chunkedEntry(
        writer,
        chunker,
        entry,
        name,
        small.before,
        [small.content],
        () => small.failure !== null,
      );
    }
  }
  let handle: FileHandle;
  let before: BigIntStats;
  try {
    handle = await open(entry.source, 'r');
    before = await handle.stat({ bigint: true });
  } catch (error) {
    problem(reasonOf(error));
    return null;
  }
  try {
    const read = readChecked(handle, before, onBytes, problem);
    return await chunkedEntry(
      writer,
      chunker,
      entry,
      name,
      before,
      read.content,
      () => read.failure !== null,
    );
  } finally {
    await handle.close();
  }
}

/** Stores a file's content, block by block, as chunks; its entry, with the metadata of `before`. */
async function chunkedEntry(
  writer: RepositoryWriter,
  chunker: Chunker,
  entry: PlannedEntry,
  name: Buffer,
  before: BigIntStats,
  blocks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  changed: () => boolean,
): Promise<TreeEntry> {
  try {
    const content: string[] = [];
    for await (const block of blocks) {
      for (const chunk of chunker.push(block)) content.push(await writer.add(ObjectType.chunk, chunk));
    }
    const last = chunker.finish();
    if (last !== undefined && last.length > 0) content.push(await writer.add(ObjectType.chunk, last));
    const metadata = { ...entry, mtimeNs: before.mtimeNs };
    return fileEntry(metadata, name, before, { size: Number(before.size), content, changed: changed() });
  } finally {
    chunker.finish(); // a failed read leaves nothing of this file for the next
  }
}

export interface RestoreSnapshotOptions {
  /** Snapshot id; the latest when absent. */
  id?: string;
  to: string;
  /**
   * Only this path inside the snapshot: the base name it was backed up under, then the names below
   * it, '/'-separated ('chat/media'), each matched byte for byte against the snapshot's names
   * (docs/BACKUP.md "Names that are not UTF-8"). A string stands for its UTF-8 bytes; a path with a
   * name that is not UTF-8 is given as bytes (parseEscapedName turns the form escapeName prints,
   * which is what the CLI prints and takes, into them).
   */
  path?: string | Uint8Array;
  force?: boolean;
  /**
   * Told the bytes written so far and the bytes to write: the snapshot's size, or for `path` the
   * size of what is under it (for progress; hard links to a file restored count once).
   */
  onProgress?: (done: number, total: number) => void;
}

/** A restored snapshot, with what was restored and the files in it that changed while they were backed up. */
export interface RestoredSnapshot extends SnapshotInfo {
  /**
   * Paths in the snapshot, escaped as escapeName prints them (docs/BACKUP.md "Names that are not
   * UTF-8"), of the restored files that were stored as read while they changed: restored as stored,
   * maybe torn. In the order of the snapshot's trees.
   */
  readonly changed: readonly string[];
  /**
   * What this restore wrote, all of the snapshot or what `path` names: file entries (every name of
   * a multiply linked file) and bytes of content (such a file once, as the snapshot's `size` counts).
   */
  readonly restored: { readonly files: number; readonly bytes: number };
}

/**
 * Restores a snapshot (or one path in it) into `options.to`. Everything is restored into a
 * temporary directory beside it first and moved into place only once every blob has verified, so
 * a damaged repository leaves nothing behind (docs/FORMAT.md §12.9).
 */
export async function restoreSnapshot(
  repository: Repository,
  options: RestoreSnapshotOptions,
): Promise<RestoredSnapshot> {
  const target = resolve(options.to);
  // A malformed path fails before anything is read.
  const names =
    options.path === undefined
      ? undefined
      : splitSnapshotPath(
          typeof options.path === 'string' ? Buffer.from(options.path) : options.path,
          'path',
        );
  await checkDestination(target, options.force ?? false);
  const snapshot =
    options.id === undefined ? await latestSnapshot(repository) : await repository.readSnapshot(options.id);
  const reader = await RepositoryReader.open(repository);
  let tree = await reader.tree(snapshot.tree);
  let prefix = '';
  if (names !== undefined) {
    const found = await findSnapshotPath(reader, tree, names);
    tree = { entries: [found.entry] };
    prefix = found.parent;
  }
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const temporaryPrefix = `.${basename(target)}.strongroom-restore-`;
  await removeDeadTemporaries(parent, temporaryPrefix);
  const staging = join(parent, temporaryName(temporaryPrefix));
  const untrack = trackTemporary(staging);
  const total = options.path === undefined ? snapshot.size : await contentSize(reader, tree);
  let done = 0;
  const onProgress = options.onProgress;
  const state: RestoreState = {
    reader,
    linked: new Map(),
    changed: [],
    files: 0,
    onBytes:
      onProgress &&
      ((bytes) => {
        done += bytes;
        onProgress(done, total);
      }),
  };
  try {
    await mkdir(staging, { mode: 0o700 });
    await restoreTree(state, tree, Buffer.from(staging), prefix);
    await mkdir(target, { recursive: true });
    for (const entry of tree.entries) {
      const name = Buffer.from(nameBytesOf(entry));
      const into = Buffer.concat([Buffer.from(`${target}/`), name]);
      if (options.force) await rm(into, { recursive: true, force: true });
      await rename(Buffer.concat([Buffer.from(`${staging}/`), name]), into);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
    untrack();
  }
  return { ...snapshot, changed: state.changed, restored: { files: state.files, bytes: total } };
}

async function latestSnapshot(repository: Repository): Promise<SnapshotInfo> {
  const snapshots = await repository.listSnapshots();
  const latest = snapshots.at(-1);
  if (latest === undefined) throw new StrongroomError(`no snapshots in ${repository.store.location}`);
  return latest;
}

/**
 * Files restored side by side within one directory (restoreTree), and chunks of each read and
 * verified ahead of the one being written: a tree of small files waits on the file system's
 * opens, writes and metadata calls, which more files at once overlap (sixteen with two ahead
 * restored the 1.5 GB /usr/lib copy in 5.05 s, four with three ahead in 5.89 s, medians of three
 * alternated runs, 2026-12-04); one large file is as fast with two ahead as with three. At most
 * 16 × 3 chunks are held, some 48 MiB at the average chunk.
 */
const FILES_IN_FLIGHT = 16;
const BLOBS_AHEAD = 2;

interface RestoreState {
  readonly reader: RepositoryReader;
  /**
   * The restored path of the first name of each multiply linked file (`device:inode`), with its
   * chunk list: a later name of the same file becomes a hard link to it (§12.9).
   */
  readonly linked: Map<string, { path: Buffer; content: string; written: Promise<void> }>;
  /** Escaped paths of the changed files restored, in tree order (RestoredSnapshot.changed). */
  readonly changed: string[];
  /** File entries restored so far, every name of a multiply linked file counted. */
  files: number;
  /** Told the bytes of each chunk as it is written (for progress). */
  readonly onBytes: ((bytes: number) => void) | undefined;
}

/** The bytes of the files under `tree`, a file with several names in it counted once, as a snapshot's `size` counts them. */
async function contentSize(reader: RepositoryReader, tree: Tree, seen = new Set<string>()): Promise<number> {
  let size = 0;
  for (const entry of tree.entries) {
    if (entry.kind === 'dir') size += await contentSize(reader, await reader.tree(entry.tree!), seen);
    if (entry.kind !== 'file') continue;
    const inode = `${entry.device}:${entry.inode}`;
    if (entry.links !== undefined && seen.has(inode)) continue;
    if (entry.links !== undefined) seen.add(inode);
    size += entry.size!;
  }
  return size;
}

/**
 * Restores `tree`'s entries into `directory` (bytes: names need not be UTF-8), each file from
 * blobs that verify before their bytes are written; directories get their metadata once their
 * contents are written, since writing into one changes its mtime and a read-only mode would stop
 * the writes. `at` is the tree's path in the snapshot, escaped (escapeName), for messages.
 */
async function restoreTree(state: RestoreState, tree: Tree, directory: Buffer, at: string): Promise<void> {
  // Files are restored a few at a time: each one's opens, writes and metadata calls wait on the
  // file system, and the next file's blobs can verify meanwhile (docs/BENCHMARKS.md, "Incremental
  // backups"). The files of this directory are done before a subdirectory starts, which bounds
  // the memory to FILES_IN_FLIGHT files, and before the directory's own metadata is set.
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for (const entry of tree.entries) {
      if (failure !== undefined) break;
      const name = nameBytesOf(entry);
      const path = Buffer.concat([directory, Buffer.from('/'), name]);
      const metadata = { mode: entry.mode, mtimeNs: BigInt(entry.mtimeNs), uid: entry.uid, gid: entry.gid };
      if (entry.kind === 'symlink') {
        await symlink(Buffer.from(targetBytesOf(entry)), path);
        await applySymlinkMetadata(path, metadata);
      } else if (entry.kind === 'dir') {
        await Promise.all(running);
        if (failure !== undefined) break;
        await mkdir(path, { mode: 0o700 });
        await restoreTree(state, await state.reader.tree(entry.tree!), path, `${at}${escapeName(name)}/`);
        await applyMetadata(path, metadata);
      } else {
        const file: Promise<void> = restoreFile(state, entry, path, `${at}${escapeName(name)}`)
          .then(() => applyMetadata(path, metadata))
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => running.delete(file));
        running.add(file);
        if (running.size >= FILES_IN_FLIGHT) await Promise.race(running);
      }
    }
  } finally {
    // Nothing may still write into the directory once this returns or throws.
    await Promise.all(running);
  }
  if (failure !== undefined) throw failure.error;
}

async function restoreFile(state: RestoreState, entry: TreeEntry, path: Buffer, at: string): Promise<void> {
  const content = entry.content!;
  const inode = `${entry.device}:${entry.inode}`;
  const first = entry.links === undefined ? undefined : state.linked.get(inode);
  state.files++;
  if (first !== undefined) {
    // One inode, one content: a name whose chunks differ cannot be a link to it.
    if (first.content !== content.join()) {
      throw new DamagedBackupError(`'${at}' is a hard link whose content differs from its file's`);
    }
    await first.written; // the first name may still be being written beside this one
    await link(first.path, path);
    return;
  }
  // Listed now, while files start in the order of the tree, not as they finish; a failure fails
  // the whole restore, list and all.
  if (entry.changed) state.changed.push(at);
  const written = writeFileContent(state, entry, path, at);
  if (entry.links !== undefined) {
    // Failure is reported by this call; the later names only wait for it.
    state.linked.set(inode, { path, content: content.join(), written: written.catch(() => {}) });
  }
  await written;
}

/** Writes a file's chunks, each verified before its bytes are written, and checks its size. */
async function writeFileContent(
  state: RestoreState,
  entry: TreeEntry,
  path: Buffer,
  at: string,
): Promise<void> {
  const { reader, onBytes } = state;
  const content = entry.content!;
  const size = entry.size!;
  await writeSparseFile(
    path,
    (async function* () {
      let written = 0;
      // The next chunks are read and verified while this one is written (BLOBS_AHEAD of them).
      const ahead: Promise<Uint8Array>[] = [];
      const fetch = (index: number) => {
        if (index >= content.length) return;
        const blob = reader.blob(content[index]!, ObjectType.chunk);
        blob.catch(() => {}); // reported when its turn comes, or dropped with the file
        ahead.push(blob);
      };
      for (let i = 0; i < Math.min(BLOBS_AHEAD, content.length); i++) fetch(i);
      for (let index = 0; index < content.length; index++) {
        const chunk = await ahead.shift()!;
        fetch(index + BLOBS_AHEAD);
        written += chunk.length;
        if (written > size) break;
        yield chunk;
        onBytes?.(chunk.length);
      }
      if (written !== size) {
        throw new DamagedBackupError(`'${at}': its chunks hold ${written} bytes, its tree says ${size}`);
      }
    })(),
    size,
  );
}
