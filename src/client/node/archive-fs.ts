// Builds the archive of docs/FORMAT.md "Archive" from paths on disk: regular files, directories and
// symlinks (never followed), with permission bits and mtimes. Each PATH becomes a top-level entry
// under its own base name, as `tar -C dirname basename` would store it.
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import type { WriteEntry } from '../../format/archive.ts';

interface PlannedEntry {
  readonly type: 'file' | 'directory' | 'symlink';
  /** Path inside the archive. */
  readonly path: string;
  /** Path on disk. */
  readonly source: string;
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly size: number;
}

/** What a backup of some paths will contain; its list of entries is held in memory (not contents). */
export interface ArchivePlan {
  readonly entries: readonly PlannedEntry[];
  /** Bytes of file content: the figure progress bars count towards. */
  readonly contentBytes: number;
  /** Sockets, FIFOs and devices met on the way, which are not backed up. */
  readonly skipped: readonly string[];
}

/** Walks `paths` (lstat, no symlink followed) into an ArchivePlan, parents before children. */
export async function planArchive(paths: readonly string[]): Promise<ArchivePlan> {
  const entries: PlannedEntry[] = [];
  const skipped: string[] = [];
  let contentBytes = 0;
  const topNames = new Set<string>();

  async function visit(source: string, path: string): Promise<void> {
    const info = await lstat(source, { bigint: true });
    const common = { path, source, mode: Number(info.mode & 0o7777n), mtimeNs: info.mtimeNs, size: 0 };
    if (info.isFile()) {
      entries.push({ ...common, type: 'file', size: Number(info.size) });
      contentBytes += Number(info.size);
    } else if (info.isSymbolicLink()) {
      entries.push({ ...common, type: 'symlink' });
    } else if (info.isDirectory()) {
      entries.push({ ...common, type: 'directory' });
      for (const name of (await readdir(source)).sort()) await visit(join(source, name), `${path}/${name}`);
    } else {
      skipped.push(source);
    }
  }

  for (const given of paths) {
    const source = resolve(given);
    const name = basename(source);
    if (topNames.has(name)) {
      throw new UsageError(
        `two paths are both named '${name}'; a backup keeps each path under its base name`,
        {
          hints: ['back them up separately, or back up their common parent directory'],
        },
      );
    }
    topNames.add(name);
    try {
      await visit(source, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && source === resolve(given)) {
        throw new UsageError(`cannot back up '${given}': no such file or directory`);
      }
      throw error;
    }
  }
  return { entries, contentBytes, skipped };
}

/** The plan's entries with their contents, read as the archive is written (`onBytes` counts them). */
export async function* readPlannedEntries(
  plan: ArchivePlan,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<WriteEntry> {
  for (const entry of plan.entries) {
    const { type, path, mode, mtimeNs } = entry;
    if (type === 'directory') yield { type, path, mode, mtimeNs };
    else if (type === 'symlink') yield { type, path, mode, mtimeNs, target: await readlink(entry.source) };
    else
      yield {
        type,
        path,
        mode,
        mtimeNs,
        size: entry.size,
        content: fileContent(entry.source, entry.size, onBytes),
      };
  }
}

async function* fileContent(
  source: string,
  size: number,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  if (size === 0) return;
  // Reads at most `size` bytes; writeArchive notices a file that shrank meanwhile.
  for await (const piece of createReadStream(source, { end: size - 1, highWaterMark: 1 << 20 })) {
    onBytes?.(piece.length);
    yield piece as Uint8Array;
  }
}
