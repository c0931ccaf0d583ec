// A blob store in a local directory (the embedded default; docs/ARCHITECTURE.md "Record store"). A blob is written
// under a temporary name and renamed into place once complete, so readers never see half a blob.
// Large stream buffers let file I/O overlap encryption (docs/BENCHMARKS.md "Backup stream").
import { createWriteStream, type Stats } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { messageOf, UnavailableError } from '../../errors.ts';
import { removeDeadTemporaries, temporaryName, trackTemporary } from '../../temporaries.ts';
import {
  type BlobInfo,
  BlobNotFoundError,
  type BlobStore,
  checkBlobName,
  type IgnoredListener,
} from './blob-store.ts';

/**
 * Temporary files start with '.', which no blob name may (checkBlobName), and are named after their
 * owner: a put removes those a killed run left (docs/BACKUP.md "Interrupted runs").
 */
const TEMP_PREFIX = '.partial-';

/** Blobs up to this size are read with one read into one buffer. */
const WHOLE_READ_BYTES = 64 * 2 ** 20;

export class DirectoryBlobStore implements BlobStore {
  readonly location: string;

  constructor(directory: string) {
    this.location = resolve(directory);
  }

  async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    checkBlobName(name);
    await mkdir(this.location, { recursive: true });
    await removeDeadTemporaries(this.location, TEMP_PREFIX);
    const temp = join(this.location, temporaryName(TEMP_PREFIX));
    const untrack = trackTemporary(temp);
    let written = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const piece of data) {
        written += piece.length;
        yield piece;
      }
    }
    try {
      await pipeline(
        counted(),
        createWriteStream(temp, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }),
      );
      await rename(temp, join(this.location, name));
      return written;
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    } finally {
      untrack();
    }
  }

  async *get(name: string): AsyncGenerator<Uint8Array> {
    checkBlobName(name);
    let handle: FileHandle;
    try {
      handle = await open(join(this.location, name), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new BlobNotFoundError(`no backup named ${name} in ${this.location}`, {
          hints: ['`strongroom backup list --from STORE` shows the backups there'],
        });
      }
      throw error;
    }
    try {
      // A pack (about 16 MiB, docs/FORMAT.md §12.5) is read in one piece, which its reader keeps
      // whole anyway; a large single-stream backup is streamed in 1 MiB pieces.
      if ((await handle.stat()).size <= WHOLE_READ_BYTES) yield await handle.readFile();
      else yield* handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false });
    } finally {
      await handle.close();
    }
  }

  async list(prefix = '', onIgnored?: IgnoredListener): Promise<BlobInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.location);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UnavailableError(`blob store directory ${this.location} does not exist`);
      }
      throw error;
    }
    const blobs: BlobInfo[] = [];
    for (const name of names.filter((n) => !n.startsWith('.') && n.startsWith(prefix)).sort()) {
      // Anything in the directory may be there: a dangling symlink, a name deleted meanwhile, a
      // subdirectory. None is a blob, and none stops the listing.
      let info: Stats;
      try {
        info = await stat(join(this.location, name));
      } catch (error) {
        onIgnored?.(name, `cannot be read (${(error as NodeJS.ErrnoException).code ?? messageOf(error)})`);
        continue;
      }
      if (info.isFile()) blobs.push({ name, size: info.size, modified: info.mtime });
      else onIgnored?.(name, 'not a file');
    }
    return blobs;
  }

  async delete(name: string): Promise<void> {
    checkBlobName(name);
    await rm(join(this.location, name), { force: true });
  }
}
