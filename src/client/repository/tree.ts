// Tree blobs (docs/FORMAT.md §12.7): one per directory, JSON, stored as a blob of type tree, so a
// directory that did not change between snapshots is the same blob and is stored once.
import { DamagedBackupError } from '../../errors.ts';
import { parseJson } from './repository.ts';

export interface TreeEntry {
  /** The entry's name in its directory (UTF-8). */
  readonly name: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
  /** Modification time in nanoseconds since 1970, as a decimal string. */
  readonly mtimeNs: string;
  /** file: content length and the hex ids of its chunks, in order. */
  readonly size?: number;
  readonly content?: readonly string[];
  /** dir: the hex id of its tree. */
  readonly tree?: string;
  /** symlink: its target. */
  readonly target?: string;
}

export interface Tree {
  readonly entries: readonly TreeEntry[];
}

export function encodeTree(tree: Tree): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(tree));
}

const HEX_ID = /^[0-9a-f]{64}$/;

/** Parses a tree blob, rejecting names that could climb out of the restore directory. */
export function decodeTree(body: Uint8Array, what: string): Tree {
  const parsed = parseJson(body, what) as Tree;
  const damaged = (why: string) => new DamagedBackupError(`${what} is damaged: ${why}`);
  if (!Array.isArray(parsed.entries)) throw damaged('no entries');
  const names = new Set<string>();
  for (const entry of parsed.entries) {
    if (typeof entry.name !== 'string' || entry.name === '' || entry.name === '.' || entry.name === '..') {
      throw damaged('an entry has no valid name');
    }
    if (entry.name.includes('/') || entry.name.includes('\0'))
      throw damaged(`name ${JSON.stringify(entry.name)}`);
    if (names.has(entry.name)) throw damaged(`${JSON.stringify(entry.name)} appears twice`);
    names.add(entry.name);
    if (!Number.isSafeInteger(entry.mode) || !/^-?\d+$/.test(entry.mtimeNs))
      throw damaged('bad mode or time');
    const ok =
      (entry.kind === 'file' &&
        Number.isSafeInteger(entry.size) &&
        Array.isArray(entry.content) &&
        entry.content.every((id: unknown) => typeof id === 'string' && HEX_ID.test(id))) ||
      (entry.kind === 'dir' && typeof entry.tree === 'string' && HEX_ID.test(entry.tree)) ||
      (entry.kind === 'symlink' && typeof entry.target === 'string');
    if (!ok) throw damaged(`entry ${JSON.stringify(entry.name)} is malformed`);
  }
  return parsed;
}
