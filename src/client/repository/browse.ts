// Browsing one snapshot of a repository (docs/FORMAT.md §12.7, §12.5): its trees listed by path,
// like an archive's entries, and the chosen files read back chunk by chunk, every chunk verified
// under its id before it is handed on. Browser-safe; the web page and apps restoring into their
// own storage use it (docs/API.md "strongroom/client/repository").
import { DamagedBackupError, UsageError } from '../../errors.ts';
import type { ArchiveEntry, DirectoryEntry, FileEntry } from '../../format/archive.ts';
import { escapeName } from './escaped-names.ts';
import { ObjectType } from './objects.ts';
import type { RepositoryReader } from './reader.ts';
import type { SnapshotInfo } from './repository.ts';
import { nameBytesOf, type Tree, type TreeEntry } from './tree.ts';

export interface BrowseOptions {
  /** Called as chunks are read: `done` of `total` bytes of the chosen files' content. */
  onProgress?: (done: number, total: number) => void;
  /** Stops reading (the promise or generator rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** A directory of a snapshot, or a file with its content. */
export type SnapshotEntry = (FileEntry & { readonly content: AsyncIterable<Uint8Array> }) | DirectoryEntry;

/**
 * One snapshot's entries, listed like an archive's, with the chunk ids each file needs. Paths are
 * '/'-joined escaped names (escapeName): printable UTF-8 names as they are.
 */
export interface SnapshotListing {
  /** In tree order: a directory before what it holds. */
  readonly entries: readonly ArchiveEntry[];
  /** The tree entry of each listed file, by path: its chunk ids. */
  readonly files: ReadonlyMap<string, TreeEntry>;
}

/**
 * Reads and verifies every tree of `snapshot` (not its chunks) and lists its entries by path. A
 * tree that fails (a damaged pack) fails the whole listing: nothing of it is shown.
 */
export async function listSnapshot(
  reader: RepositoryReader,
  snapshot: SnapshotInfo,
  options: BrowseOptions = {},
): Promise<SnapshotListing> {
  const entries: ArchiveEntry[] = [];
  const files = new Map<string, TreeEntry>();
  const walk = async (tree: Tree, prefix: string): Promise<void> => {
    for (const entry of tree.entries) {
      options.signal?.throwIfAborted();
      // Tree names were checked to hold no '/' and not to be '.' or '..' (§12.7). Each is keyed and
      // shown escaped (docs/BACKUP.md "Names that are not UTF-8"): two names whose bytes are not
      // UTF-8 can read as the same text, and a listing keyed by that text would hand out one
      // file's content under the other's name.
      const path = prefix + escapeName(nameBytesOf(entry));
      const common = { path, mode: entry.mode, mtimeNs: BigInt(entry.mtimeNs) };
      if (entry.kind === 'file') {
        entries.push({ ...common, type: 'file', size: entry.size! });
        files.set(path, entry);
      } else if (entry.kind === 'symlink') {
        entries.push({ ...common, type: 'symlink', target: entry.target! });
      } else {
        entries.push({ ...common, type: 'directory' });
        await walk(await reader.tree(entry.tree!), `${path}/`);
      }
    }
  };
  await walk(await reader.tree(snapshot.tree), '');
  return { entries, files };
}

/**
 * Yields, in listing order, the file and directory entries of `listing` whose paths are in `paths`
 * (UsageError, before anything is read, if one is not in the listing; symbolic links are skipped),
 * each file's content read chunk by chunk, every chunk verified under its id (§12.5) before it is
 * yielded, and the file's length checked against its tree at its end. Each file's content must be
 * read before the next entry. Returns only once every selected file verified to its last chunk: a
 * consumer keeps what it wrote from the user until then, and discards it if this throws.
 */
export async function* snapshotEntries(
  reader: RepositoryReader,
  listing: SnapshotListing,
  paths: ReadonlySet<string>,
  options: BrowseOptions = {},
): AsyncGenerator<SnapshotEntry> {
  const listed = new Set(listing.entries.map((entry) => entry.path));
  const missing = [...paths].filter((path) => !listed.has(path));
  if (missing.length > 0) {
    throw new UsageError(`not in the snapshot: ${missing.map((path) => JSON.stringify(path)).join(', ')}`);
  }
  const chosen = listing.entries.filter(
    (entry) => paths.has(entry.path) && (entry.type === 'file' || entry.type === 'directory'),
  );
  const total = chosen.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0);
  let done = 0;
  options.onProgress?.(0, total);
  for (const entry of chosen) {
    if (entry.type === 'directory') {
      yield entry;
      continue;
    }
    if (entry.type !== 'file') continue;
    const { path, size } = entry;
    const chunks = listing.files.get(path)?.content ?? [];
    async function* content(): AsyncGenerator<Uint8Array> {
      let written = 0;
      for (const id of chunks) {
        options.signal?.throwIfAborted();
        const chunk = await reader.blob(id, ObjectType.chunk);
        written += chunk.length;
        done += chunk.length;
        options.onProgress?.(done, total);
        yield chunk;
      }
      if (written !== size) {
        throw new DamagedBackupError(
          `${JSON.stringify(path)} has ${written} bytes of chunks, its tree says ${size}`,
        );
      }
    }
    yield { ...entry, content: content() };
  }
}
