// Writes a file only once its whole content has been produced without error: into a temporary
// file beside it, flushed, then renamed over the target (DESIGN section 2: nothing unverified is
// left behind).
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeNewFile } from './file-io.ts';

export async function writeFileAtomically(path: string, content: AsyncIterable<Uint8Array>): Promise<number> {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.strongroom-${randomBytes(6).toString('hex')}`);
  try {
    const written = await writeNewFile(temp, content, true);
    await rename(temp, target);
    return written;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
