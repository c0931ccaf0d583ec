// Opening a backup file in a browser (docs/WEB.md "What the page does", "No partial plaintext";
// docs/FORMAT.md section 5): streams a File through the backup stream decryption (WebCrypto) and
// the archive reader, in constant memory. A listing is returned, and an extracted file committed,
// only once the stream's final chunk has verified; before that nothing decrypted is shown.
import { webCodec } from '../client/backup/web-codec.ts';
import { fromWebStream } from '../client/backup/web-streams.ts';
import { StrongroomError } from '../errors.ts';
import {
  ARCHIVE_MAGIC,
  type ArchiveEntry,
  type DirectoryEntry,
  type FileEntry,
  readArchive,
} from '../format/archive.ts';
import { MAGIC } from '../format/header.ts';
import type { BackupKey } from '../format/key.ts';
import { PieceReader } from '../format/reader.ts';
import { decryptStream } from '../format/stream.ts';
import { webCrypto } from '../format/webcrypto.ts';

/** Called as the backup file is read: `done` of `total` ciphertext bytes. */
export type ProgressListener = (done: number, total: number) => void;

export interface ReadOptions {
  onProgress?: ProgressListener;
  /** Stops reading (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * What a verified backup holds: an archive of entries (`strongroom backup create`), or one file's
 * bytes when its plaintext is not an archive (`strongroom encrypt`).
 */
export type BackupContents =
  | { readonly kind: 'archive'; readonly entries: readonly ArchiveEntry[] }
  | { readonly kind: 'single'; readonly size: number };

/** Receives one file's plaintext; it must keep it from the user until `commit`. */
export interface FileSink {
  write(piece: Uint8Array): Promise<void>;
  /** The stream verified to its final chunk: the content is complete and authentic. */
  commit(): Promise<void>;
  /** The stream failed or was stopped: discard everything written. */
  abort(): Promise<void>;
}

/**
 * The browser could not read the backup file itself (Chromium fails the read once the file changed
 * on disk after it was chosen). Not a verdict on the backup: the page asks for the file again.
 */
export class UnreadableFileError extends StrongroomError {}

/**
 * The chosen file does not start with the backup magic (docs/FORMAT.md section 4), so it is not a
 * Strongroom backup at all: not damaged, just the wrong file (a text file, a photo, an empty file).
 */
export class NotABackupError extends StrongroomError {}

/** A file entry with its content, or a directory entry: what a multi-file save receives. */
export type SelectedEntry = (FileEntry & { readonly content: AsyncIterable<Uint8Array> }) | DirectoryEntry;

/** Reads `file` as the browser gives it, naming a failure of the read itself UnreadableFileError. */
async function readOrExplain<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new UnreadableFileError('the browser could not read the backup file', {
      cause: error,
      hints: ['it may have been moved or changed since it was chosen; choose it again'],
    });
  }
}

/**
 * Throws NotABackupError unless `file` starts with the backup magic. Without this a short file of
 * another kind would be reported as a truncated upload, and a long one as damaged.
 */
async function checkMagic(file: Blob): Promise<void> {
  const head = new Uint8Array(await readOrExplain(() => file.slice(0, MAGIC.length).arrayBuffer()));
  // The magic is public, so a plain comparison leaks nothing.
  if (head.length === MAGIC.length && MAGIC.every((byte, i) => head[i] === byte)) return;
  throw new NotABackupError('this is not a Strongroom backup: it does not start like one', {
    hints: ['choose a .srb file made by strongroom backup create, or a file made by strongroom encrypt'],
  });
}

/** The decrypted plaintext of `file`, counting ciphertext for progress and honouring the signal. */
function plaintextOf(file: Blob, key: BackupKey, options: ReadOptions): AsyncGenerator<Uint8Array> {
  async function* counted(): AsyncGenerator<Uint8Array> {
    let done = 0;
    options.onProgress?.(0, file.size);
    const pieces = fromWebStream(file.stream());
    try {
      for (;;) {
        options.signal?.throwIfAborted();
        const next = await readOrExplain(() => pieces.next());
        if (next.done) return;
        done += next.value.length;
        options.onProgress?.(done, file.size);
        yield next.value;
      }
    } finally {
      await pieces.return(undefined);
    }
  }
  return decryptStream(counted(), key, { crypto: webCrypto });
}

/**
 * Splits the plaintext into its kind and the full byte sequence: an archive starts with the
 * archive magic (docs/FORMAT.md "Archive"); anything else is a single encrypted file.
 */
async function classify(
  plaintext: AsyncIterable<Uint8Array>,
): Promise<{ kind: BackupContents['kind']; bytes: AsyncGenerator<Uint8Array> }> {
  const reader = new PieceReader(plaintext);
  const head = await reader.read(ARCHIVE_MAGIC.length);
  const first = head.pieces.flatMap((piece) => Array.from(piece));
  const isArchive = head.total === ARCHIVE_MAGIC.length && ARCHIVE_MAGIC.every((b, i) => first[i] === b);
  async function* bytes(): AsyncGenerator<Uint8Array> {
    try {
      yield* head.pieces;
      for (;;) {
        const { pieces, total } = await reader.read(1 << 20);
        if (total === 0) return;
        yield* pieces;
      }
    } finally {
      await reader.close();
    }
  }
  return { kind: isArchive ? 'archive' : 'single', bytes: bytes() };
}

/**
 * Decrypts the whole of `file` and returns what it holds. Throws WrongKeyError (before any chunk is
 * read) or DamagedBackupError; returns only after the final chunk verified.
 */
export async function openBackup(
  file: Blob,
  key: BackupKey,
  options: ReadOptions = {},
): Promise<BackupContents> {
  await checkMagic(file);
  const { kind, bytes } = await classify(plaintextOf(file, key, options));
  if (kind === 'single') {
    let size = 0;
    for await (const piece of bytes) size += piece.length;
    return { kind, size };
  }
  const entries: ArchiveEntry[] = [];
  // Entries are metadata only; file contents are decrypted, authenticated and dropped.
  for await (const entry of readArchive(bytes, webCodec)) {
    if (entry.type === 'file') {
      const { content: _skipped, ...metadata } = entry;
      entries.push(metadata);
    } else {
      entries.push(entry);
    }
  }
  // readArchive returned: it drained the stream, whose final chunk verified.
  return { kind, entries };
}

/**
 * Decrypts `file` again and yields, in archive order (a directory before what it holds), the file
 * and directory entries whose paths are in `paths`; each file's content must be read before the
 * next entry. The generator returns only after the final chunk verified and every path was found:
 * a consumer keeps what it wrote from the user until then, and discards it if the generator throws.
 */
export async function* selectedEntries(
  file: Blob,
  key: BackupKey,
  paths: ReadonlySet<string>,
  options: ReadOptions = {},
): AsyncGenerator<SelectedEntry> {
  await checkMagic(file);
  const { kind, bytes } = await classify(plaintextOf(file, key, options));
  if (kind !== 'archive') throw changedSince('it no longer holds an archive');
  const found = new Set<string>();
  for await (const entry of readArchive(bytes, webCodec)) {
    if (!paths.has(entry.path)) continue;
    if (entry.type !== 'file' && entry.type !== 'directory') {
      throw changedSince(`${JSON.stringify(entry.path)} is no longer a file or directory`);
    }
    found.add(entry.path);
    yield entry;
  }
  const missing = [...paths].filter((path) => !found.has(path)).map((path) => JSON.stringify(path));
  if (missing.length > 0) {
    throw changedSince(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} no longer in it`);
  }
}

/**
 * Decrypts `file` again and writes one file's plaintext into `sink`: the archive entry at `path`,
 * or, when `path` is null, the whole plaintext of a single-file backup. The sink is committed only
 * after the final chunk verified, and aborted on any failure.
 */
export async function extractFile(
  file: Blob,
  key: BackupKey,
  path: string | null,
  sink: FileSink,
  options: ReadOptions = {},
): Promise<void> {
  if (path !== null) return writeOneFile(selectedEntries(file, key, new Set([path]), options), sink);
  await intoSink(sink, async () => {
    await checkMagic(file);
    const { kind, bytes } = await classify(plaintextOf(file, key, options));
    if (kind !== 'single') throw changedSince('it now holds an archive');
    for await (const piece of bytes) await sink.write(piece);
  });
}

/**
 * Writes the one file `entries` yields (a selection of one path, from a backup file or a
 * repository) into `sink`: committed only once `entries` returned, that is after everything it
 * read verified, and aborted on any failure.
 */
export function writeOneFile(entries: AsyncIterable<SelectedEntry>, sink: FileSink): Promise<void> {
  return intoSink(sink, async () => {
    for await (const entry of entries) {
      if (entry.type !== 'file') throw new StrongroomError(`${JSON.stringify(entry.path)} is not a file`);
      for await (const piece of entry.content) await sink.write(piece);
    }
  });
}

/** Runs `write`, then commits `sink`; aborts it instead if `write` fails. */
async function intoSink(sink: FileSink, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    await sink.abort();
    throw error;
  }
  await sink.commit();
}

/** The file was listed from one state and is now read in another (replaced on disk meanwhile). */
const changedSince = (what: string) =>
  new StrongroomError(`the backup file changed since it was opened: ${what}`, {
    hints: ['open the backup again'],
  });
