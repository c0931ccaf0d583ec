// Writes a file only once its whole content has been produced without error: into a temporary
// file beside it, then renamed over the target (DESIGN section 2: nothing unverified is left behind).
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

export async function writeFileAtomically(path: string, content: AsyncIterable<Uint8Array>): Promise<number> {
  const target = resolve(path);
  const suffix = Math.random().toString(36).slice(2, 10);
  const temp = join(dirname(target), `.${basename(target)}.strongroom-${process.pid}-${suffix}`);
  let written = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of content) {
      written += piece.length;
      yield piece;
    }
  }
  try {
    await pipeline(counted(), createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    await rename(temp, target);
    return written;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
