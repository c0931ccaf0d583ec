// Restores an archive (docs/FORMAT.md "Archive") into a directory: everything is written into a
// private temporary directory beside the destination, and moved into place only once the archive
// and the stream under it have been read to the end — after the stream's final chunk verified
// (docs/FORMAT.md §5). A damaged or forged backup leaves nothing behind. An entry this file system
// cannot hold (its name or path too long here) is left out and named, and the rest is restored
// (docs/BACKUP.md "Incomplete restores").
import { link, mkdir, readdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import { type Codec, type DirectoryEntry, pathBytes, readArchive } from '../../format/archive.ts';
import { removeDeadTemporaries, temporaryName, trackTemporary } from '../../temporaries.ts';
import { escapeName } from '../repository/escaped-names.ts';
import type { SkippedEntry } from './archive-fs.ts';
import { applyMetadata, applySymlinkMetadata, writeSparseFile } from './entry-metadata.ts';

export interface ExtractSummary {
  readonly entries: number;
  readonly contentBytes: number;
  /**
   * Files the backup marked as changed while it read them (restored as stored; docs/BACKUP.md), by
   * their paths in the backup escaped as escapeName prints them ("Names that are not UTF-8").
   */
  readonly changed: readonly string[];
  /** Entries left out because this file system cannot hold them (docs/BACKUP.md "Incomplete restores"), paths escaped. */
  readonly problems: readonly SkippedEntry[];
  /** False when some entry of the backup was not restored (`problems` says which). */
  readonly complete: boolean;
}

/** The exact bytes of a symlink's or hard link's target (docs/FORMAT.md §6). */
const linkTarget = (entry: { target: string; rawTarget?: Uint8Array }): Uint8Array =>
  entry.rawTarget ?? Buffer.from(entry.target);

/** Why an entry is left out: its name, or its whole path under the restore directory, is too long here. */
const NAME_TOO_LONG = 'its name or path is too long for this file system (ENAMETOOLONG)';

/**
 * Checks that `destination` may be restored into: absent, an empty directory, or (with `force`) a
 * non-empty one. Call it before downloading anything.
 */
export async function checkDestination(destination: string, force: boolean): Promise<void> {
  let names: string[];
  try {
    const info = await stat(destination);
    if (!info.isDirectory()) throw new UsageError(`'${destination}' exists and is not a directory`);
    names = await readdir(destination);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (names.length > 0 && !force) {
    throw new UsageError(`'${destination}' is not empty`, {
      hints: ['restore into a new or empty directory, or add --force to replace same-named entries in it'],
    });
  }
}

/** Extracts the archive in `plaintext` into `destination` (see the module comment). */
export async function extractArchive(
  plaintext: AsyncIterable<Uint8Array>,
  destination: string,
  options: { force?: boolean; codec?: Codec } = {},
): Promise<ExtractSummary> {
  const target = resolve(destination);
  await checkDestination(target, options.force ?? false);
  await mkdir(dirname(target), { recursive: true });
  // A private place named after its owner, beside the destination (docs/BACKUP.md "Interrupted
  // runs"): 0700, so nothing in it is visible to others while unverified, even if this run is
  // killed; then the next restore here removes it.
  const prefix = `.${basename(target)}.strongroom-restore-`;
  await removeDeadTemporaries(dirname(target), prefix);
  const temp = join(dirname(target), temporaryName(prefix));
  const untrack = trackTemporary(temp);
  try {
    await mkdir(temp, { mode: 0o700 });
    // Paths are bytes: a name that is not UTF-8 is restored as the same bytes (docs/FORMAT.md §6).
    const inTemp = (path: Uint8Array) => Buffer.concat([Buffer.from(`${temp}/`), path]);
    const directories: { path: Buffer; entry: DirectoryEntry }[] = [];
    const changed: string[] = [];
    const problems: SkippedEntry[] = [];
    // Archive paths (latin1 keys of their bytes) of every entry left out, with all a left-out
    // directory contains: readArchive yields a directory before its contents.
    const leftOut = new Set<string>();
    const keyOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
    let entries = 0;
    let contentBytes = 0;
    for await (const entry of readArchive(plaintext, options.codec)) {
      // readArchive checked the path (no '..', no absolute path, parent is an earlier directory,
      // a hard link's target is an earlier file).
      const archivePath = pathBytes(entry);
      const slash = archivePath.lastIndexOf(0x2f);
      if (slash >= 0 && leftOut.has(keyOf(archivePath.subarray(0, slash)))) {
        // Left out with its directory, which is named (as a backup names a skipped directory).
        leftOut.add(keyOf(archivePath));
        continue;
      }
      if (entry.type === 'hardlink' && leftOut.has(keyOf(linkTarget(entry)))) {
        problems.push({
          path: escapeName(archivePath),
          reason: `the file it is a link to ('${escapeName(linkTarget(entry))}') was left out`,
        });
        leftOut.add(keyOf(archivePath));
        continue;
      }
      const path = inTemp(archivePath);
      try {
        if (entry.type === 'directory') {
          await mkdir(path, { mode: 0o700 });
          directories.push({ path, entry });
        } else if (entry.type === 'symlink') {
          await symlink(Buffer.from(linkTarget(entry)), path);
          await applySymlinkMetadata(path, entry);
        } else if (entry.type === 'hardlink') {
          await link(inTemp(linkTarget(entry)), path);
        } else {
          await writeSparseFile(path, entry.content, entry.size);
          contentBytes += entry.size;
          if (entry.changedWhileRead()) changed.push(escapeName(archivePath));
          await applyMetadata(path, entry);
        }
      } catch (error) {
        // Each of the calls above fails on a name too long before it creates anything, so nothing of
        // the entry is left to move into place. A file's content is still read and verified:
        // readArchive skips what the caller did not read.
        if ((error as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw error;
        problems.push({ path: escapeName(archivePath), reason: NAME_TOO_LONG });
        leftOut.add(keyOf(archivePath));
        continue;
      }
      entries++;
    }
    // Directories last and deepest first: writing into a directory changes its mtime, and a
    // read-only mode would stop the writes.
    for (const dir of directories.reverse()) await applyMetadata(dir.path, dir.entry);
    await moveIntoPlace(temp, target);
    return { entries, contentBytes, changed, problems, complete: problems.length === 0 };
  } finally {
    await rm(temp, { recursive: true, force: true });
    untrack();
  }
}

/** Moves each top-level entry of `temp` into `target`, replacing a same-named one (--force). */
async function moveIntoPlace(temp: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const name of await readdir(temp)) {
    await rm(join(target, name), { recursive: true, force: true });
    await rename(join(temp, name), join(target, name));
  }
}
