// Writes a file only once its whole content has been produced without error: into a temporary
// file beside it (mode 0600, named after its owner), flushed, then renamed over the target
// (docs/BACKUP.md "Interrupted runs": nothing unverified is left behind, not even by a run that
// was killed, whose leftovers the next write beside it removes).
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { removeDeadTemporaries, temporaryName, trackTemporary } from '../../temporaries.ts';
import { writeAllTo, writeNewFile } from './file-io.ts';

/**
 * Writes `content` to `path` all or nothing. A target that exists and is not a regular file (a
 * device such as /dev/null, a FIFO, a terminal) cannot be replaced by a rename — and must not be:
 * renaming over /dev/null as root would turn it into a file. It is written in place, as stdout
 * would be, so like stdout it may receive a prefix of a stream that later fails to verify.
 */
export async function writeFileAtomically(path: string, content: AsyncIterable<Uint8Array>): Promise<number> {
  const target = resolve(path);
  if (await isSpecialFile(target)) {
    const handle = await open(target, 'w');
    try {
      return await writeAllTo(handle, content);
    } finally {
      await handle.close();
    }
  }
  const prefix = `.${basename(target)}.strongroom-`;
  await removeDeadTemporaries(dirname(target), prefix);
  const temp = join(dirname(target), temporaryName(prefix));
  const untrack = trackTemporary(temp);
  try {
    const written = await writeNewFile(temp, content, true);
    await rename(temp, target);
    return written;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    untrack();
  }
}

/** True for an existing target that is neither a regular file nor a directory. */
async function isSpecialFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    return !info.isFile() && !info.isDirectory();
  } catch {
    return false; // absent (or unreadable: the write will say why)
  }
}
