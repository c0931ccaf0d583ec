// Restores an archive (docs/FORMAT.md "Archive") into a directory: everything is written into a
// private temporary directory beside the destination, and moved into place only once the archive
// and the stream under it have been read to the end — after the stream's final chunk verified
// (DESIGN section 2). A damaged or forged backup leaves nothing behind.
import { chmod, lutimes, mkdir, readdir, rename, rm, stat, symlink, utimes } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import { type Codec, readArchive } from '../../format/archive.ts';
import { removeDeadTemporaries, temporaryName, trackTemporary } from '../../temporaries.ts';
import { writeNewFile } from './file-io.ts';

export interface ExtractSummary {
  readonly entries: number;
  readonly contentBytes: number;
}

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

const seconds = (ns: bigint): number => Number(ns / 1000n) / 1e6;

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
    const directories: { path: string; mode: number; mtimeNs: bigint }[] = [];
    let entries = 0;
    let contentBytes = 0;
    for await (const entry of readArchive(plaintext, options.codec)) {
      entries++;
      // readArchive checked the path (no '..', no absolute path, parent is an earlier directory).
      const path = join(temp, ...entry.path.split('/'));
      if (entry.type === 'directory') {
        await mkdir(path, { mode: 0o700 });
        directories.push({ path, mode: entry.mode, mtimeNs: entry.mtimeNs });
      } else if (entry.type === 'symlink') {
        await symlink(entry.target, path);
        await lutimes(path, seconds(entry.mtimeNs), seconds(entry.mtimeNs));
      } else {
        await writeNewFile(path, entry.content);
        contentBytes += entry.size;
        await chmod(path, entry.mode);
        await utimes(path, seconds(entry.mtimeNs), seconds(entry.mtimeNs));
      }
    }
    // Directories last and deepest first: writing into a directory changes its mtime, and a
    // read-only mode would stop the writes.
    for (const dir of directories.reverse()) {
      await chmod(dir.path, dir.mode);
      await utimes(dir.path, seconds(dir.mtimeNs), seconds(dir.mtimeNs));
    }
    await moveIntoPlace(temp, target);
    return { entries, contentBytes };
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
