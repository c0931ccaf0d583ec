// Tree blobs (docs/FORMAT.md §12.7 "Trees"): one per directory, canonical JSON stored as a blob of
// type tree, so a directory that did not change between snapshots is the same blob and is stored
// once. Entries keep what archive v2 keeps (§6): exact name bytes, mode, owner, nanosecond mtime,
// hard links; file entries also keep what the next backup compares to skip reading an unchanged
// file (§12.7 "Parent snapshot").
import { DamagedBackupError } from '../../errors.ts';
import { nameOf } from '../../format/archive.ts';
import { fromHex, toHex } from '../../protocol/vault/bytes.ts';
import { escapeName } from './escaped-names.ts';
import { parseJson } from './repository.ts';

/**
 * One entry of a directory. A single interface with optional parts rather than a union, so that code
 * walking trees reads `tree` and `content` without narrowing; decodeTree guarantees that exactly the
 * fields of the entry's kind are present.
 */
export interface TreeEntry {
  /** The entry's name in its directory; when its bytes are not UTF-8, a readable form (U+FFFD). */
  readonly name: string;
  /** The name's exact bytes as lowercase hex, present only when they are not UTF-8. */
  readonly rawName?: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
  /** Numeric owner and group. */
  readonly uid: number;
  readonly gid: number;
  /** Modification time in nanoseconds since 1970 (negative before), as a decimal string. */
  readonly mtimeNs: string;
  /** file: content length and the hex ids of its chunks, in order. */
  readonly size?: number;
  readonly content?: readonly string[];
  /** file: status-change time (ns, decimal), inode and device numbers (decimal), as lstat gave them. */
  readonly ctimeNs?: string;
  readonly inode?: string;
  readonly device?: string;
  /** file: its link count, present only when above 1 (names with the same inode and device are one file). */
  readonly links?: number;
  /** file: present (true) when the file changed while it was read: stored as read, maybe torn. */
  readonly changed?: true;
  /** dir: the hex id of its tree. */
  readonly tree?: string;
  /** symlink: its target; `rawTarget` the exact bytes as hex when they are not UTF-8. */
  readonly target?: string;
  readonly rawTarget?: string;
}

export interface Tree {
  readonly entries: readonly TreeEntry[];
}

const encoder = new TextEncoder();

/** The exact bytes of an entry's name. */
export const nameBytesOf = (entry: Pick<TreeEntry, 'name' | 'rawName'>): Uint8Array =>
  entry.rawName === undefined ? encoder.encode(entry.name) : fromHex(entry.rawName);

/** The exact bytes of a symlink entry's target. */
export const targetBytesOf = (entry: Pick<TreeEntry, 'target' | 'rawTarget'>): Uint8Array =>
  entry.rawTarget === undefined ? encoder.encode(entry.target ?? '') : fromHex(entry.rawTarget);

/** `{text, raw}` as the entry fields want them: text always, hex of the bytes only when not UTF-8. */
export function textFields(bytes: Uint8Array): { text: string; raw?: string } {
  const { text, raw } = nameOf(bytes);
  return raw === undefined ? { text } : { text, raw: toHex(raw) };
}

/** The fields of each kind, in the order they are written (FORMAT.md §12.7): one encoding per tree. */
const FIELDS = {
  file: [
    'name',
    'rawName',
    'kind',
    'mode',
    'uid',
    'gid',
    'mtimeNs',
    'ctimeNs',
    'inode',
    'device',
    'links',
    'size',
    'content',
    'changed',
  ],
  dir: ['name', 'rawName', 'kind', 'mode', 'uid', 'gid', 'mtimeNs', 'tree'],
  symlink: ['name', 'rawName', 'kind', 'mode', 'uid', 'gid', 'mtimeNs', 'target', 'rawTarget'],
} as const satisfies Record<TreeEntry['kind'], readonly (keyof TreeEntry)[]>;

const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
};

/**
 * The tree's canonical bytes: entries sorted by name bytes, each entry's fields in FIELDS order,
 * absent optional fields left out. The same directory state always gives the same bytes, hence the
 * same tree id (docs/FORMAT.md §12.7).
 */
export function encodeTree(tree: Tree): Uint8Array {
  const sorted = tree.entries
    .map((entry) => ({ entry, bytes: nameBytesOf(entry) }))
    .sort((a, b) => compareBytes(a.bytes, b.bytes));
  const entries = sorted.map(({ entry }) => {
    const out: Record<string, unknown> = {};
    for (const field of FIELDS[entry.kind]) if (entry[field] !== undefined) out[field] = entry[field];
    return out;
  });
  return encoder.encode(JSON.stringify({ entries }));
}

const HEX_ID = /^[0-9a-f]{64}$/;
const HEX = /^(?:[0-9a-f]{2})+$/;
const DECIMAL = /^(?:0|[1-9]\d*)$/;
const SIGNED_DECIMAL = /^(?:0|-?[1-9]\d*)$/;
const MAX_U32 = 0xffff_ffff;

const isCount = (value: unknown, max = Number.MAX_SAFE_INTEGER): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max;

/**
 * Parses a tree blob, refusing (as damage) any tree a correct writer would not write: a name that
 * could climb out of the restore directory, names out of order or repeated, a field that is missing,
 * unknown or not in its one encoding (docs/FORMAT.md §12.7 "A reader MUST refuse").
 */
export function decodeTree(body: Uint8Array, what: string): Tree {
  const parsed = parseJson(body, what) as { entries?: unknown };
  const damaged = (why: string) => new DamagedBackupError(`${what} is damaged: ${why}`);
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.entries)) {
    throw damaged('no entries');
  }
  if (Object.keys(parsed).length !== 1) throw damaged('unknown fields');
  let previous: Uint8Array | null = null;
  for (const item of parsed.entries as unknown[]) {
    if (typeof item !== 'object' || item === null) throw damaged('an entry is not an object');
    const entry = item as Record<string, unknown>;
    const name = typeof entry.name === 'string' ? entry.name : null;
    if (name === null) throw damaged('an entry has no name');
    const bytes = textBytes(entry.name, entry.rawName);
    if (bytes === null) throw damaged(`name ${JSON.stringify(name)} is not in its one encoding`);
    // Its exact bytes from here on, escaped (docs/BACKUP.md "Names that are not UTF-8").
    const shown = `'${escapeName(bytes)}'`;
    const climbs =
      bytes.length === 0 ||
      bytes.includes(0x2f) ||
      bytes.includes(0) ||
      (bytes.length === 1 && bytes[0] === 0x2e) ||
      (bytes.length === 2 && bytes[0] === 0x2e && bytes[1] === 0x2e);
    if (climbs) throw damaged(`name ${shown}`);
    if (previous !== null && compareBytes(previous, bytes) >= 0) {
      throw damaged(`${shown} is out of order or appears twice`);
    }
    previous = bytes;
    const fields: readonly string[] | undefined = FIELDS[entry.kind as TreeEntry['kind']];
    if (fields === undefined) throw damaged(`entry ${shown} has an unknown kind`);
    if (Object.keys(entry).some((key) => !fields.includes(key))) {
      throw damaged(`entry ${shown} has unknown fields`);
    }
    const common =
      isCount(entry.mode, 0o7777) &&
      isCount(entry.uid, MAX_U32) &&
      isCount(entry.gid, MAX_U32) &&
      typeof entry.mtimeNs === 'string' &&
      SIGNED_DECIMAL.test(entry.mtimeNs);
    if (!common || !kindFieldsValid(entry)) throw damaged(`entry ${shown} is malformed`);
  }
  return parsed as unknown as Tree;
}

function kindFieldsValid(entry: Record<string, unknown>): boolean {
  switch (entry.kind) {
    case 'file':
      return (
        isCount(entry.size) &&
        Array.isArray(entry.content) &&
        entry.content.every((id: unknown) => typeof id === 'string' && HEX_ID.test(id)) &&
        typeof entry.ctimeNs === 'string' &&
        SIGNED_DECIMAL.test(entry.ctimeNs) &&
        typeof entry.inode === 'string' &&
        DECIMAL.test(entry.inode) &&
        typeof entry.device === 'string' &&
        DECIMAL.test(entry.device) &&
        (entry.links === undefined || (isCount(entry.links, MAX_U32) && entry.links > 1)) &&
        (entry.changed === undefined || entry.changed === true)
      );
    case 'dir':
      return typeof entry.tree === 'string' && HEX_ID.test(entry.tree);
    case 'symlink': {
      const target = textBytes(entry.target, entry.rawTarget);
      return target !== null && target.length > 0 && !target.includes(0);
    }
    default:
      return false;
  }
}

/**
 * The bytes a `text` / `raw` field pair stands for, or null when the pair is not the one encoding
 * of any bytes: `raw` is present exactly when the bytes are not UTF-8, and `text` is then their
 * readable form.
 */
function textBytes(text: unknown, raw: unknown): Uint8Array | null {
  if (typeof text !== 'string') return null;
  if (raw === undefined) {
    const bytes = encoder.encode(text);
    // A lone surrogate has no UTF-8 form: it encodes as U+FFFD, so it does not decode back to `text`.
    return nameOf(bytes).text === text ? bytes : null;
  }
  if (typeof raw !== 'string' || !HEX.test(raw)) return null;
  const bytes = fromHex(raw);
  const decoded = nameOf(bytes);
  return decoded.raw !== undefined && decoded.text === text ? bytes : null;
}
