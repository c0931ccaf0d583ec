// A read-only BlobStore over a folder the user picked in the browser (docs/WEB.md "Opening a
// repository"): the blobs are the File objects directly inside it, as a directory store keeps them
// (one file per object, docs/FORMAT.md §12.1). Nothing is ever written, so the picked folder is
// only read. Browser-only (File, FileSystemDirectoryHandle); no node: module.
import { fromWebStream } from '../client/backup/web-streams.ts';
import { UsageError } from '../errors.ts';
import {
  type BlobInfo,
  BlobNotFoundError,
  type BlobStore,
  checkBlobName,
} from '../stores/blob/blob-store.ts';
import { UnreadableFileError } from './open-backup.ts';

/** The File System Access API's folder dialog for reading (Chromium); not in TypeScript's DOM typings. */
type ShowDirectoryPicker = (options: { mode: 'read' }) => Promise<FileSystemDirectoryHandle>;
type ListableDirectory = FileSystemDirectoryHandle & {
  values(): AsyncIterable<FileSystemDirectoryHandle | FileSystemFileHandle>;
};

function folderPicker(): ShowDirectoryPicker | undefined {
  return (globalThis as { showDirectoryPicker?: ShowDirectoryPicker }).showDirectoryPicker;
}

/** True when the browser has a folder dialog (`pickFolderToRead`); else the page offers webkitdirectory. */
export function canPickFolder(): boolean {
  return typeof folderPicker() === 'function';
}

/** A folder the user chose, as the files directly inside it. */
export interface PickedFolder {
  readonly name: string;
  readonly files: readonly File[];
}

/**
 * Asks for a folder to read (call it from the click handler, before any other await: the dialog
 * needs the click's user activation). Returns null if the user cancels.
 */
export async function pickFolderToRead(): Promise<PickedFolder | null> {
  const show = folderPicker();
  if (show === undefined) throw new Error('this browser has no folder dialog');
  let handle: FileSystemDirectoryHandle;
  try {
    handle = await show({ mode: 'read' });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') return null;
    throw error;
  }
  const files: File[] = [];
  for await (const entry of (handle as ListableDirectory).values()) {
    if (entry.kind === 'file') files.push(await (entry as FileSystemFileHandle).getFile());
  }
  return { name: handle.name, files };
}

/**
 * The folder an `<input type=file webkitdirectory>` was given: the browser lists every file under
 * it with its path from the folder's parent ("store/repo.config"); only those directly inside the
 * folder are blobs, anything deeper is not part of a repository.
 */
export function folderOfInput(list: FileList | null): PickedFolder | null {
  const all = Array.from(list ?? []);
  const first = all[0]?.webkitRelativePath.split('/')[0];
  if (first === undefined || first === '') return null;
  const files = all.filter((file) => file.webkitRelativePath === `${first}/${file.name}`);
  return { name: first, files };
}

/** The picked folder's files as a store; `put` and `delete` refuse, since the page only reads. */
export class FolderBlobStore implements BlobStore {
  readonly location: string;
  readonly #files = new Map<string, File>();

  constructor(folder: PickedFolder) {
    this.location = folder.name;
    for (const file of folder.files) this.#files.set(file.name, file);
  }

  async put(_name: string, _data: AsyncIterable<Uint8Array>): Promise<number> {
    throw new UsageError('the page only reads the folder it was given');
  }

  async delete(_name: string): Promise<void> {
    throw new UsageError('the page only reads the folder it was given');
  }

  /** Blobs with valid names only (checkBlobName): anything else in the folder is not a blob. */
  async list(prefix = ''): Promise<BlobInfo[]> {
    const found: BlobInfo[] = [];
    for (const [name, file] of this.#files) {
      if (!name.startsWith(prefix)) continue;
      try {
        checkBlobName(name);
      } catch {
        continue;
      }
      found.push({ name, size: file.size, modified: new Date(file.lastModified) });
    }
    return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async *get(name: string): AsyncGenerator<Uint8Array> {
    checkBlobName(name);
    const file = this.#files.get(name);
    if (file === undefined)
      throw new BlobNotFoundError(`no ${JSON.stringify(name)} in the folder ${this.location}`);
    const pieces = fromWebStream(file.stream());
    try {
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await pieces.next();
        } catch (error) {
          // Chromium fails the read once the file changed on disk after it was chosen.
          throw new UnreadableFileError(`the browser could not read ${name} in the folder`, {
            cause: error,
            hints: ['the folder may have changed since it was chosen; choose it again'],
          });
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await pieces.return(undefined);
    }
  }
}
