// Builds the archive of docs/FORMAT.md §6 "Archive" from paths on disk: regular files, directories,
// symlinks (never followed) and hard links, with permission bits, mtimes and owners. Each PATH
// becomes a top-level entry under its own base name, as `tar -C dirname basename` would store it.
// Names are handled as bytes (Buffer paths), so a name that is not UTF-8 is kept exactly. What
// cannot be read is skipped and reported by name; the backup goes on (docs/BACKUP.md "Incomplete
// backups").
import { type BigIntStats, closeSync, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { type FileHandle, lstat, open, readdir, readlink, statfs } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { messageOf, UsageError } from '../../errors.ts';
import { MAX_PATH_BYTES, nameOf, type WriteEntry } from '../../format/archive.ts';
import { escapeName } from '../repository/escaped-names.ts';

export interface PlannedEntry {
  readonly type: 'file' | 'directory' | 'symlink';
  /** Path inside the archive: text, plus its bytes when they are not UTF-8. */
  readonly path: string;
  readonly rawPath?: Uint8Array;
  /** Path on disk, as bytes. */
  readonly source: Buffer;
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** `dev:ino` of a file with more than one link, so its other names become hard link entries. */
  readonly inode?: string;
}

/** An entry left out of a backup, and why (`path` is the path on disk, escaped: escapeName). */
export interface SkippedEntry {
  readonly path: string;
  readonly reason: string;
}

/** What a backup of some paths will contain; its list of entries is held in memory (not contents). */
export interface ArchivePlan {
  readonly entries: readonly PlannedEntry[];
  /** Bytes of file content (each multiply linked file once): the figure progress bars count towards. */
  readonly contentBytes: number;
  /**
   * Left out by design, not a failure: sockets, FIFOs and devices, and the contents of mount
   * points on virtual file systems (/proc, /sys…) or, with `oneFileSystem`, on other file systems.
   */
  readonly skipped: readonly SkippedEntry[];
  /** Left out because they could not be read (unreadable, too long, vanished): the backup is incomplete. */
  readonly problems: readonly SkippedEntry[];
}

export interface PlanOptions {
  /** Stay on the file system of each PATH: mount points are kept, empty (like `tar --one-file-system`). */
  readonly oneFileSystem?: boolean;
}

// statfs(2) f_type of file systems with nothing to back up (linux/magic.h): kernel state, not files.
const VIRTUAL_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x65735543, 'fusectl'],
  [0x19800202, 'mqueue'],
  [0x42494e4d, 'binfmt_misc'],
  [0xde5e81e4, 'efivarfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x6e736673, 'nsfs'],
]);

/** A short, path-free description of a file system error for a skipped entry. */
export function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'it disappeared while being backed up',
    ENAMETOOLONG: 'its path is too long for the system',
    ELOOP: 'too many levels of symbolic links',
    EIO: 'input/output error',
  };
  return code === undefined ? messageOf(error) : `${words[code] ?? 'cannot be read'} (${code})`;
}

const SLASH = Buffer.from('/');
/** Joins path bytes with '/' (node:path's join works on strings only). */
const joinBytes = (...parts: Buffer[]): Buffer =>
  Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [SLASH, p])));

/**
 * The longest a walk runs its synchronous calls before letting the event loop turn (uploads,
 * progress, signals), in milliseconds (docs/ARCHITECTURE.md "Small files and the walk").
 */
const SYNC_SLICE_MS = 2;

/** Lets the event loop turn once `SYNC_SLICE_MS` have passed since it last did. */
export class EventLoopTurns {
  private since = performance.now();
  async maybe(): Promise<void> {
    if (performance.now() - this.since < SYNC_SLICE_MS) return;
    await nextTurn();
    this.since = performance.now();
  }
}

/** One step of `walkPaths`: an entry (its lstat with it), or the end of a directory's contents. */
export type WalkStep =
  | {
      readonly kind: 'entry';
      readonly entry: PlannedEntry;
      readonly name: Buffer;
      readonly info: BigIntStats;
    }
  | { readonly kind: 'leave'; readonly entry: PlannedEntry };

/** Told about each entry a walk leaves out: by design (`skipped`) or because it failed (`problem`). */
export interface WalkListener {
  skipped(entry: SkippedEntry): void;
  problem(entry: SkippedEntry): void;
}

/**
 * Walks `paths` (lstat, no symlink followed) depth first, parents before children and each
 * directory's names in byte order, yielding each entry as it is reached and a `leave` step once a
 * directory's contents are done. Only the directories on the current path are held, so a walk of
 * any number of entries takes little memory.
 */
export async function* walkPaths(
  paths: readonly string[],
  options: PlanOptions,
  listener: WalkListener,
): AsyncGenerator<WalkStep> {
  const topNames = new Set<string>();
  // lstat and readdir run synchronously, in slices (docs/ARCHITECTURE.md "Small files and the walk").
  const turns = new EventLoopTurns();
  const display = (source: Buffer) => escapeName(source);

  /** Walks `source` as archive path `path` (bytes); `parentDev` is the device of its directory. */
  async function* visit(
    source: Buffer,
    path: Buffer,
    name: Buffer,
    parentDev: bigint | null,
    topDev: bigint,
  ): AsyncGenerator<WalkStep> {
    if (path.length > MAX_PATH_BYTES) {
      listener.problem({
        path: display(source),
        reason: `its path in the backup is longer than ${MAX_PATH_BYTES} bytes`,
      });
      return;
    }
    let info: BigIntStats;
    await turns.maybe();
    try {
      info = lstatSync(source, { bigint: true });
    } catch (error) {
      if (parentDev === null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UsageError(`cannot back up '${display(source)}': no such file or directory`);
      }
      listener.problem({ path: display(source), reason: reasonOf(error) });
      return;
    }
    const text = nameOf(path);
    const common = {
      path: text.text,
      ...(text.raw === undefined ? {} : { rawPath: text.raw }),
      source,
      mode: Number(info.mode & 0o7777n),
      mtimeNs: info.mtimeNs,
      uid: Number(info.uid),
      gid: Number(info.gid),
      size: 0,
    };
    if (info.isFile()) {
      const inode = info.nlink > 1n ? `${info.dev}:${info.ino}` : undefined;
      const entry: PlannedEntry = {
        ...common,
        type: 'file',
        size: Number(info.size),
        ...(inode && { inode }),
      };
      yield { kind: 'entry', entry, name, info };
    } else if (info.isSymbolicLink()) {
      yield { kind: 'entry', entry: { ...common, type: 'symlink' }, name, info };
    } else if (info.isDirectory()) {
      // A mount point is kept, as an empty directory, when what is mounted is left out.
      const outside =
        parentDev !== null && info.dev !== parentDev
          ? await mountReason(source, info.dev !== topDev && options.oneFileSystem === true)
          : null;
      let names: Buffer[] = [];
      try {
        if (outside === null) names = readdirSync(source, { encoding: 'buffer' });
      } catch (error) {
        listener.problem({ path: display(source), reason: reasonOf(error) });
        return;
      }
      const entry: PlannedEntry = { ...common, type: 'directory' };
      yield { kind: 'entry', entry, name, info };
      if (outside !== null) listener.skipped({ path: display(source), reason: outside });
      for (const child of names.sort(Buffer.compare)) {
        yield* visit(joinBytes(source, child), joinBytes(path, child), child, info.dev, topDev);
      }
      yield { kind: 'leave', entry };
    } else {
      listener.skipped({ path: display(source), reason: 'not a file, directory or symlink' });
    }
  }

  /** Why the contents of mount point `source` are left out, or null to walk into it. */
  async function mountReason(source: Buffer, otherFileSystem: boolean): Promise<string | null> {
    if (otherFileSystem) return 'contents on another file system (--one-file-system)';
    const type = VIRTUAL_FILE_SYSTEMS.get((await statfs(source)).type);
    return type === undefined ? null : `contents on the virtual file system ${type}`;
  }

  for (const given of paths) {
    const source = Buffer.from(resolve(given));
    const name = basename(resolve(given));
    const topDev = (await lstat(source, { bigint: true }).catch(() => null))?.dev ?? 0n;
    // `/` has no base name: its entries become the top-level ones, as with `tar -C / .`.
    const tops =
      name === ''
        ? (await readdir(source, { encoding: 'buffer' }))
            .sort(Buffer.compare)
            .map((n) => [Buffer.concat([SLASH, n]), n])
        : [[source, Buffer.from(name)]];
    for (const [top, topName] of tops as [Buffer, Buffer][]) {
      const key = topName.toString('latin1');
      if (topNames.has(key)) {
        throw new UsageError(
          `two paths are both named '${escapeName(topName)}'; a backup keeps each path under its base name`,
          { hints: ['back them up separately, or back up their common parent directory'] },
        );
      }
      topNames.add(key);
      yield* visit(top, topName, topName, name === '' ? topDev : null, topDev);
    }
  }
}

/** Walks `paths` (see walkPaths) into an ArchivePlan. */
export async function planArchive(paths: readonly string[], options: PlanOptions = {}): Promise<ArchivePlan> {
  const entries: PlannedEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const problems: SkippedEntry[] = [];
  const inodes = new Set<string>();
  let contentBytes = 0;
  const listener = {
    skipped: (s: SkippedEntry) => skipped.push(s),
    problem: (p: SkippedEntry) => problems.push(p),
  };
  for await (const step of walkPaths(paths, options, listener)) {
    if (step.kind === 'leave') continue;
    const { entry } = step;
    entries.push(entry);
    if (entry.type !== 'file') continue;
    if (entry.inode === undefined || !inodes.has(entry.inode)) contentBytes += entry.size;
    if (entry.inode !== undefined) inodes.add(entry.inode);
  }
  return { entries, contentBytes, skipped, problems };
}

/**
 * The plan's entries with their contents, read as the archive is written (`onBytes` counts them).
 * An entry that cannot be read now is left out and passed to `onProblem`; so is a file that changed
 * while it was read (stored as read, marked changed: docs/FORMAT.md §6).
 */
export async function* readPlannedEntries(
  plan: ArchivePlan,
  onBytes?: (bytes: number) => void,
  onProblem?: (problem: SkippedEntry) => void,
): AsyncGenerator<WriteEntry> {
  // The archive path of the first name of each multiply linked file that was written.
  const linked = new Map<string, { target: string; rawTarget?: Uint8Array }>();
  for (const entry of plan.entries) {
    const { type, source, size: _size, inode: _inode, ...metadata } = entry;
    const problem = (error: unknown) => onProblem?.({ path: escapeName(source), reason: reasonOf(error) });
    if (type === 'directory') {
      yield { type, ...metadata };
    } else if (type === 'symlink') {
      let target: Buffer;
      try {
        target = await readlink(source, { encoding: 'buffer' });
      } catch (error) {
        problem(error);
        continue;
      }
      if (target.length > MAX_PATH_BYTES) {
        onProblem?.({
          path: escapeName(source),
          reason: `its target is longer than ${MAX_PATH_BYTES} bytes`,
        });
        continue;
      }
      const name = nameOf(target);
      yield {
        type,
        ...metadata,
        target: name.text,
        ...(name.raw === undefined ? {} : { rawTarget: name.raw }),
      };
    } else {
      const first = entry.inode === undefined ? undefined : linked.get(entry.inode);
      if (first !== undefined) {
        yield { type: 'hardlink', ...metadata, ...first };
        continue;
      }
      let handle: FileHandle;
      let before: BigIntStats;
      try {
        handle = await open(source, 'r');
        before = await handle.stat({ bigint: true });
      } catch (error) {
        problem(error);
        continue;
      }
      try {
        const read = readChecked(handle, before, onBytes, (reason) =>
          onProblem?.({ path: escapeName(source), reason }),
        );
        yield {
          type,
          ...metadata,
          mode: Number(before.mode & 0o7777n),
          mtimeNs: before.mtimeNs,
          size: Number(before.size),
          content: read.content,
          changedWhileRead: () => read.failure !== null,
        };
      } finally {
        await handle.close();
      }
      if (entry.inode !== undefined)
        linked.set(entry.inode, {
          target: metadata.path,
          ...(metadata.rawPath && { rawTarget: metadata.rawPath }),
        });
    }
  }
}

/**
 * Reads exactly `before.size` bytes from `handle` (zeros past a premature end) and, once read,
 * sets `failure` when the file changed meanwhile: its size, mtime or ctime differ from `before`
 * (a write in place changes mtime and ctime even when the size stays), or a read failed.
 */
export function readChecked(
  handle: FileHandle,
  before: BigIntStats,
  onBytes: ((bytes: number) => void) | undefined,
  onFailure: (reason: string) => void,
) {
  const state: { content: AsyncIterable<Uint8Array>; failure: string | null } = {
    content: content(),
    failure: null,
  };
  const size = Number(before.size);
  /** Reads the block at `position`; never rejects, so it can run ahead of the consumer. */
  const readAt = async (
    position: number,
  ): Promise<{ block: Buffer; bytesRead: number } | { error: unknown }> => {
    const block = Buffer.allocUnsafe(Math.min(size - position, 1 << 20));
    try {
      return { block, ...(await handle.read(block, 0, block.length, position)) };
    } catch (error) {
      return { error };
    }
  };
  async function* content(): AsyncGenerator<Uint8Array> {
    let done = 0;
    // One read ahead, so the disk works while the previous block is encrypted.
    let next = size > 0 ? readAt(0) : null;
    while (done < size) {
      const read = state.failure === null && next !== null ? await next : null;
      let block: Buffer;
      if (read !== null && 'error' in read) state.failure = readFailed(read.error, done);
      else if (read !== null && read.bytesRead === 0) state.failure = shrank(done);
      if (read !== null && !('error' in read) && read.bytesRead > 0) {
        block = read.block.subarray(0, read.bytesRead);
      } else {
        // After a failure the rest is zeros: the entry must still hold `size` bytes.
        block = Buffer.alloc(Math.min(size - done, 1 << 20));
      }
      done += block.length;
      next = state.failure === null && done < size ? readAt(done) : null;
      onBytes?.(block.length);
      yield block;
    }
    state.failure ??= changedSince(before, await handle.stat({ bigint: true }));
    if (state.failure !== null) onFailure(state.failure);
  }
  return state;
}

/** Why the bytes of a file from `done` on are zeros (§6 "state"). */
const readFailed = (error: unknown, done: number) =>
  `reading it failed: ${reasonOf(error)}; stored with zeros from byte ${done}`;
const shrank = (done: number) => `it shrank while being read; stored with zeros from byte ${done}`;

/** Why a file read between `before` and `after` is not what it was (§6 "state"), or null. */
function changedSince(before: BigIntStats, after: BigIntStats): string | null {
  const same =
    after.size === before.size && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs;
  return same ? null : 'it changed while being read; stored as read';
}

/** Files at most this large (by the walk's lstat) are read by readSmallFile. */
export const SMALL_FILE_BYTES = 1024 * 1024;

/** A small file read whole: its fstat before the read, its bytes, and why they may be torn. */
export interface SmallFileRead {
  readonly before: BigIntStats;
  readonly content: Buffer;
  readonly failure: string | null;
}

/**
 * Reads a small file as readChecked does (exactly `before.size` bytes, zeros past a premature end,
 * `failure` when it changed meanwhile), with synchronous calls: open, fstat, read, fstat, close.
 * Returns null, having closed it again, when the file has grown past SMALL_FILE_BYTES since the
 * walk saw it (the caller reads it as a large file); throws when it cannot be opened.
 */
export function readSmallFile(source: Buffer): SmallFileRead | null {
  const fd = openSync(source, 'r');
  try {
    const before = fstatSync(fd, { bigint: true });
    if (before.size > BigInt(SMALL_FILE_BYTES)) return null;
    const size = Number(before.size);
    const content = Buffer.alloc(size);
    let done = 0;
    let failure: string | null = null;
    while (done < size && failure === null) {
      try {
        const bytesRead = readSync(fd, content, done, size - done, done);
        if (bytesRead === 0) failure = shrank(done);
        done += bytesRead;
      } catch (error) {
        failure = readFailed(error, done);
      }
    }
    return { before, content, failure: failure ?? changedSince(before, fstatSync(fd, { bigint: true })) };
  } finally {
    closeSync(fd);
  }
}
