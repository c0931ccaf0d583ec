// Finding one path inside a snapshot (docs/BACKUP.md "Names that are not UTF-8"; docs/FORMAT.md
// §12.7 "Trees"): name by name from the root tree, each matched byte for byte against the names a
// tree holds, so two names that differ only in bytes that are not UTF-8 are never confused. A path
// that is not there is a UsageError naming it and the nearest names that are, all escaped as
// escapeName prints them. Browser-safe.
import { UsageError } from '../../errors.ts';
import { nameOf } from '../../format/archive.ts';
import { bytesEqual } from '../../protocol/vault/bytes.ts';
import { escapeName, escapePath } from './escaped-names.ts';
import type { RepositoryReader } from './reader.ts';
import { nameBytesOf, type Tree, type TreeEntry } from './tree.ts';

/** How many of the nearest names a missing path's error lists. */
const NEAREST = 5;

/** The entry a path names, with the path of the directory that holds it (escaped, ending in '/', or ''). */
export interface FoundPath {
  readonly entry: TreeEntry;
  readonly parent: string;
}

/** The escaped path of the directory holding `names[index]`, ending in '/' ('' at the top). */
const directoryOf = (names: readonly Uint8Array[], index: number) =>
  names
    .slice(0, index)
    .map((name) => `${escapeName(name)}/`)
    .join('');

/**
 * The entry at `names` (exact bytes of each name, as splitSnapshotPath gives them) below `root`,
 * reading the trees on the way. Symbolic links on the way are not followed: the path must go
 * through directories.
 */
export async function findSnapshotPath(
  reader: RepositoryReader,
  root: Tree,
  names: readonly Uint8Array[],
): Promise<FoundPath> {
  let tree = root;
  for (let i = 0; ; i++) {
    const name = names[i]!;
    // Names in a tree are unique as bytes (§12.7), so at most one matches.
    const entry = tree.entries.find((candidate) => bytesEqual(nameBytesOf(candidate), name));
    if (entry === undefined) throw missing(tree, names, i);
    if (i === names.length - 1) return { entry, parent: directoryOf(names, i) };
    if (entry.kind !== 'dir') {
      const kind = entry.kind === 'file' ? 'a file' : 'a symbolic link';
      throw new UsageError(
        `'${escapePath(names.slice(0, i + 1))}' in the snapshot is ${kind}, not a directory: no '${escapePath(names)}' in it`,
      );
    }
    tree = await reader.tree(entry.tree!);
  }
}

/** The error for `names[index]` not being in `tree`: the path, and the names nearest the one missing. */
function missing(tree: Tree, names: readonly Uint8Array[], index: number): UsageError {
  const path = escapePath(names);
  const prefix = directoryOf(names, index);
  const where = index === 0 ? 'at the top of the snapshot' : `in '${prefix}'`;
  const wanted = names[index]!;
  const shown = (entry: TreeEntry) => `'${prefix}${escapeName(nameBytesOf(entry))}'`;
  // A path typed as names print without escapes (U+FFFD for each byte that is not UTF-8) matches
  // every name that prints so: it names none of them.
  const text = nameOf(wanted).text;
  const lookAlikes = tree.entries.filter((entry) => entry.rawName !== undefined && entry.name === text);
  if (lookAlikes.length > 1) {
    return new UsageError(
      `'${path}' is ambiguous: ${lookAlikes.length} names ${where} read '${text}' once their bytes that are not UTF-8 are replaced: ${lookAlikes.map(shown).join(', ')}`,
      {
        hints: [
          'give the one you mean as printed here, with its escapes (docs/BACKUP.md "Names that are not UTF-8")',
        ],
      },
    );
  }
  if (tree.entries.length === 0) return new UsageError(`no '${path}' in the snapshot: nothing is ${where}`);
  const escaped = [...escapeName(wanted)];
  const nearest = tree.entries
    .map((entry) => ({
      entry,
      distance: lookAlikes.includes(entry) ? -1 : editDistance(escaped, [...escapeName(nameBytesOf(entry))]),
    }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, NEAREST);
  const more = tree.entries.length > nearest.length ? ` (of ${tree.entries.length})` : '';
  return new UsageError(`no '${path}' in the snapshot`, {
    hints: [`the nearest names ${where}${more}: ${nearest.map(({ entry }) => shown(entry)).join(', ')}`],
  });
}

/** Levenshtein distance between two strings given as arrays of characters. */
function editDistance(a: readonly string[], b: readonly string[]): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    row = next;
  }
  return row[b.length]!;
}
