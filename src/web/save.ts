// Where a file extracted in the browser goes (docs/WEB.md "Downloads and memory"): nothing reaches the user
// before the backup's final chunk verified (docs/FORMAT.md §5), so each sink keeps the plaintext
// away from them until `commit`.
import type { FileSink } from './open-backup.ts';

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

/**
 * Collects the file into a Blob (browsers other than Chromium). `commit` hands over an object URL
 * for a download link; `abort` drops everything. The file, not the backup, is held meanwhile, in
 * Blob storage that Chromium and Firefox may keep on disk.
 */
export function blobSink(onCommitted: (url: string) => void): FileSink {
  let blob = new Blob([]);
  let pending: Uint8Array<ArrayBuffer>[] = [];
  let pendingBytes = 0;
  const fold = () => {
    blob = new Blob([blob, ...pending], { type: 'application/octet-stream' });
    pending = [];
    pendingBytes = 0;
  };
  return {
    async write(piece) {
      pending.push(piece as Uint8Array<ArrayBuffer>);
      pendingBytes += piece.length;
      if (pendingBytes >= FOLD_BYTES) fold();
    },
    async commit() {
      fold();
      onCommitted(URL.createObjectURL(blob));
    },
    async abort() {
      pending = [];
      blob = new Blob([]);
    },
  };
}
