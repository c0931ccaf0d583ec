// Verifies a restore byte for byte (README "demo"): walks two trees and reports every difference in
// type, permission bits, mtime (to the millisecond), size, content (SHA-256) or symlink target.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeComparison {
  /** Entries compared (files, directories, symlinks). */
  readonly entries: number;
  /** Bytes of file content compared. */
  readonly bytes: number;
  /** One line per difference; empty when the trees match. */
  readonly differences: string[];
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 16 })) hash.update(piece);
  return hash.digest('hex');
}

async function kindOf(path: string) {
  const info = await lstat(path);
  const type = info.isFile()
    ? 'file'
    : info.isDirectory()
      ? 'directory'
      : info.isSymbolicLink()
        ? 'symlink'
        : 'other';
  return { type, mode: info.mode & 0o7777, mtimeMs: Math.floor(info.mtimeMs), size: info.size };
}

/** Compares `expected` (the original) with `actual` (the restore) recursively. */
export async function compareTrees(expected: string, actual: string): Promise<TreeComparison> {
  const differences: string[] = [];
  let entries = 0;
  let bytes = 0;

  async function visit(relative: string): Promise<void> {
    const a = await kindOf(join(expected, relative));
    let b: Awaited<ReturnType<typeof kindOf>>;
    try {
      b = await kindOf(join(actual, relative));
    } catch {
      differences.push(`${relative}: missing from the restore`);
      return;
    }
    entries++;
    const at = (what: string): void => {
      differences.push(`${relative || '.'}: ${what} differs`);
    };
    if (a.type !== b.type) return at('type');
    if (a.type !== 'symlink' && a.mode !== b.mode) at('mode');
    if (a.mtimeMs !== b.mtimeMs) at('mtime');
    if (a.type === 'file') {
      if (a.size !== b.size) return at('size');
      if ((await hashFile(join(expected, relative))) !== (await hashFile(join(actual, relative))))
        at('content');
      bytes += a.size;
    } else if (a.type === 'symlink') {
      if ((await readlink(join(expected, relative))) !== (await readlink(join(actual, relative))))
        at('target');
    } else if (a.type === 'directory') {
      const names = (await readdir(join(expected, relative))).sort();
      const restored = (await readdir(join(actual, relative))).sort();
      for (const extra of restored.filter((n) => !names.includes(n)))
        differences.push(`${join(relative, extra)}: not in the original`);
      for (const name of names) await visit(join(relative, name));
    }
  }

  await visit('');
  return { entries, bytes, differences };
}
