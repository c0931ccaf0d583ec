// Where files extracted in the browser go (docs/WEB.md "Downloads and memory"): nothing reaches
// the user before the backup's final chunk verified (docs/FORMAT.md section 5), so each sink and
// saver keeps the plaintext away from them until the pass is over.
import { makeZip } from 'client-zip';
import { fromWebStream } from '../client/backup/web-streams.ts';
import type { FileSink, SelectedEntry } from './open-backup.ts';

/** The File System Access API's save dialog (Chromium); not in TypeScript's DOM typings. */
type ShowSaveFilePicker = (options: { suggestedName?: string }) => Promise<FileSystemFileHandle>;

function savePicker(): ShowSaveFilePicker | undefined {
  return (globalThis as { showSaveFilePicker?: ShowSaveFilePicker }).showSaveFilePicker;
}

/** True when the browser can stream a file straight to disk (`pickerSink`). */
export function canStreamToDisk(): boolean {
  return typeof savePicker() === 'function';
}

/**
 * Asks where to save `name` (call it from the click handler, before any other await: the dialog
 * needs the click's user activation), then streams into that file. The browser writes to a
 * temporary swap file and moves it into place only on `close()`, which `commit` calls; `abort`
 * discards it. Memory stays constant whatever the file's size. Returns null if the user cancels.
 */
export async function pickerSink(name: string): Promise<FileSink | null> {
  const show = savePicker();
  if (show === undefined) throw new Error('this browser cannot save files directly');
  let handle: FileSystemFileHandle;
  try {
    handle = await show({ suggestedName: name });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') return null;
    throw error;
  }
  const writable = await handle.createWritable();
  return {
    write: (piece) => writable.write(piece as Uint8Array<ArrayBuffer>),
    commit: () => writable.close(),
    abort: () => writable.abort(),
  };
}

/** Pieces are folded into a Blob every this many bytes, so the browser can page them out of the tab. */
const FOLD_BYTES = 8 << 20;

/** Gathers bytes into a Blob in FOLD_BYTES steps, so the tab does not hold them all in its heap. */
class BlobCollector {
  private blob = new Blob([]);
  private pending: Uint8Array<ArrayBuffer>[] = [];
  private pendingBytes = 0;

  add(piece: Uint8Array): void {
    this.pending.push(piece as Uint8Array<ArrayBuffer>);
    this.pendingBytes += piece.length;
    if (this.pendingBytes >= FOLD_BYTES) this.fold();
  }

  finish(type: string): Blob {
    this.fold();
    return new Blob([this.blob], { type });
  }

  discard(): void {
    this.pending = [];
    this.blob = new Blob([]);
  }

  private fold(): void {
    this.blob = new Blob([this.blob, ...this.pending]);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/**
 * Collects the file into a Blob (browsers other than Chromium). `commit` hands over an object URL
 * for a download link; `abort` drops everything. The file, not the backup, is held meanwhile, in
 * Blob storage that Chromium and Firefox may keep on disk.
 */
export function blobSink(onCommitted: (url: string) => void): FileSink {
  const collector = new BlobCollector();
  return {
    async write(piece) {
      collector.add(piece);
    },
    async commit() {
      onCommitted(URL.createObjectURL(collector.finish('application/octet-stream')));
    },
    async abort() {
      collector.discard();
    },
  };
}

/**
 * Writes the entries into one zip (client-zip: stored, streamed, zip64 when needed) collected as a
 * Blob. Resolves only when `entries` returned, that is after the backup's final chunk verified; if
 * they throw, the zip stream fails with the same error and everything collected is dropped.
 */
export async function zipOf(entries: AsyncIterable<SelectedEntry>): Promise<Blob> {
  async function* zipInputs() {
    for await (const entry of entries) {
      const lastModified = new Date(Number(entry.mtimeNs / 1_000_000n));
      const mode = entry.mode & 0o777;
      if (entry.type === 'directory') yield { name: `${entry.path}/`, lastModified, mode };
      else yield { name: entry.path, lastModified, mode, size: entry.size, input: entry.content };
    }
  }
  const collector = new BlobCollector();
  try {
    for await (const piece of fromWebStream(makeZip(zipInputs(), { buffersAreUTF8: true }))) {
      collector.add(piece);
    }
  } catch (error) {
    collector.discard();
    throw error;
  }
  return collector.finish('application/zip');
}

/** The File System Access API's folder dialog (Chromium); not in TypeScript's DOM typings. */
type ShowDirectoryPicker = (options: { mode: 'readwrite' }) => Promise<FileSystemDirectoryHandle>;

function folderPicker(): ShowDirectoryPicker | undefined {
  return (globalThis as { showDirectoryPicker?: ShowDirectoryPicker }).showDirectoryPicker;
}

/** True when the browser can write a selection straight into a folder (`saveIntoFolder`). */
export function canSaveToFolder(): boolean {
  return typeof folderPicker() === 'function';
}

/**
 * Asks for a folder to save into (call it from the click handler, before any other await: the
 * dialog needs the click's user activation). Returns null if the user cancels.
 */
export async function pickFolder(): Promise<FileSystemDirectoryHandle | null> {
  const show = folderPicker();
  if (show === undefined) throw new Error('this browser cannot save into a folder');
  try {
    return await show({ mode: 'readwrite' });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') return null;
    throw error;
  }
}

/** Whether `get` finds an entry: false only when there is none (NotFoundError). */
async function exists(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return true;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') return false;
    return true; // an entry of the other kind: creating this one will fail and say so
  }
}

/**
 * Writes the entries under `folder` at their archive paths (already checked to stay inside it,
 * docs/FORMAT.md section 6). Each file goes to the browser's swap file for it, which replaces the
 * real file only on `close()`; every file is closed only once `entries` returned, after the
 * backup's final chunk verified. On failure every writable is aborted and every file and
 * directory this save created is removed, so the folder is left as it was found.
 */
export async function saveIntoFolder(
  folder: FileSystemDirectoryHandle,
  entries: AsyncIterable<SelectedEntry>,
): Promise<void> {
  const folders = new Map<string, FileSystemDirectoryHandle>([['', folder]]);
  /** What this save created, in order: removed newest first on failure. */
  const created: { parent: FileSystemDirectoryHandle; name: string }[] = [];
  const writables: FileSystemWritableFileStream[] = [];
  const split = (path: string) => {
    const slash = path.lastIndexOf('/');
    return { parentPath: slash < 0 ? '' : path.slice(0, slash), name: path.slice(slash + 1) };
  };
  /** The handle of directory `path`, creating it and its parents as needed. */
  const directory = async (path: string): Promise<FileSystemDirectoryHandle> => {
    const known = folders.get(path);
    if (known !== undefined) return known;
    const { parentPath, name } = split(path);
    const parent = await directory(parentPath);
    if (!(await exists(() => parent.getDirectoryHandle(name)))) created.push({ parent, name });
    const handle = await parent.getDirectoryHandle(name, { create: true });
    folders.set(path, handle);
    return handle;
  };
  try {
    for await (const entry of entries) {
      if (entry.type === 'directory') {
        await directory(entry.path);
        continue;
      }
      const { parentPath, name } = split(entry.path);
      const parent = await directory(parentPath);
      if (!(await exists(() => parent.getFileHandle(name)))) created.push({ parent, name });
      const writable = await (await parent.getFileHandle(name, { create: true })).createWritable();
      writables.push(writable);
      for await (const piece of entry.content) await writable.write(piece as Uint8Array<ArrayBuffer>);
    }
  } catch (error) {
    await Promise.allSettled(writables.map((writable) => writable.abort()));
    for (const { parent, name } of created.reverse()) {
      await parent.removeEntry(name, { recursive: true }).catch(() => undefined);
    }
    throw error;
  }
  for (const writable of writables) await writable.close();
}
