// The folders of a listing and what is selected in it (docs/WEB.md "Browsing folders"): the page
// shows one folder at a time, so a snapshot or archive of thousands of files stays usable, while
// the selection belongs to the whole listing and survives moving between folders. Pure data, no
// DOM, so it is tested on Node; src/web/view.ts draws it.
import type { ArchiveEntry } from '../format/archive.ts';

/** One folder's row of a child folder, or one entry that is not a folder. */
export type FolderItem =
  | {
      readonly kind: 'folder';
      readonly path: string;
      readonly name: string;
      /** The folder's own entry; null when the listing names only what is inside it. */
      readonly entry: ArchiveEntry | null;
    }
  | { readonly kind: 'entry'; readonly path: string; readonly name: string; readonly entry: ArchiveEntry };

interface Folder {
  readonly path: string;
  /** Its place in the order the index met folders: what a history entry records (numberOf). */
  readonly number: number;
  entry: ArchiveEntry | null;
  readonly folders: Map<string, Folder>;
  readonly others: ArchiveEntry[];
  /** Files and directories at or under this folder, the ones a selection can hold. */
  selectable: number;
  /** Bytes of the files under it. */
  bytes: number;
  files: number;
}

/** Whether an entry can be selected and saved: links are listed only (docs/WEB.md). */
export const isSelectable = (entry: ArchiveEntry) => entry.type === 'file' || entry.type === 'directory';

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);
/** Names compare by code unit, which is the byte order trees keep (docs/FORMAT.md §12.7) outside rare scripts. */
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The folders of a listing, built once when it opens, and the set of selected paths. The root
 * folder is ''. A folder the listing has no entry for (an archive that names only `a/b/c`) is
 * still shown, so its contents can be reached; selecting it selects what it holds.
 */
export class FolderIndex {
  private readonly folders = new Map<string, Folder>();
  /** Each folder's path by its number. */
  private readonly paths: string[] = [];
  private readonly selected = new Set<string>();
  private readonly allSelectable: string[] = [];
  /** Selected paths at or under each folder, counted when first asked after a change. */
  private counts: Map<string, number> | null = null;

  constructor(entries: readonly ArchiveEntry[]) {
    this.folders.set('', this.newFolder('', null));
    for (const entry of entries) {
      if (entry.type === 'directory') this.folderAt(entry.path, entry);
    }
    for (const entry of entries) {
      if (isSelectable(entry)) this.allSelectable.push(entry.path);
      if (entry.type !== 'directory') this.folderAt(parentOf(entry.path), null).others.push(entry);
      // Every folder above the entry counts it: a folder's box and size cover its whole subtree.
      const own = entry.type === 'directory' ? entry.path : parentOf(entry.path);
      for (let path: string | null = own; path !== null; path = path === '' ? null : parentOf(path)) {
        const folder = this.folders.get(path)!;
        if (isSelectable(entry)) folder.selectable++;
        if (entry.type === 'file') {
          folder.bytes += entry.size;
          folder.files++;
        }
      }
    }
  }

  private newFolder(path: string, entry: ArchiveEntry | null): Folder {
    this.paths.push(path);
    const number = this.paths.length - 1;
    return { path, number, entry, folders: new Map(), others: [], selectable: 0, bytes: 0, files: 0 };
  }

  /** The folder at `path`, made (with the folders above it) if the listing has not named it yet. */
  private folderAt(path: string, entry: ArchiveEntry | null): Folder {
    const known = this.folders.get(path);
    if (known !== undefined) {
      // A directory entry listed after something inside it still becomes the folder's own entry.
      if (entry !== null && known.entry === null) known.entry = entry;
      return known;
    }
    const folder = this.newFolder(path, entry);
    this.folders.set(path, folder);
    this.folderAt(parentOf(path), null).folders.set(path, folder);
    return folder;
  }

  has(path: string): boolean {
    return this.folders.has(path);
  }

  /**
   * The folder's number: the root is 0, the others count up as the index meets them reading the
   * listing in order, so the same verified listing numbers its folders the same way each time it
   * is indexed. A history entry records this number, never the folder's name (docs/WEB.md "Back
   * and Forward").
   */
  numberOf(path: string): number | undefined {
    return this.folders.get(path)?.number;
  }

  /** The folder numbered `number` by numberOf; undefined for any number it did not give. */
  pathOf(number: number): string | undefined {
    return Number.isSafeInteger(number) && number >= 0 ? this.paths[number] : undefined;
  }

  /** Whether folder `path` holds anything a selection can take (a folder of links only does not). */
  hasSelectable(path: string): boolean {
    return (this.folders.get(path)?.selectable ?? 0) > 0;
  }

  /** What `path` holds: its folders first, then everything else, each group by name. */
  items(path: string): FolderItem[] {
    const folder = this.folders.get(path);
    if (folder === undefined) return [];
    const folders: FolderItem[] = [...folder.folders.values()]
      .map((child) => ({
        kind: 'folder' as const,
        path: child.path,
        name: nameOf(child.path),
        entry: child.entry,
      }))
      .sort(byName);
    const others: FolderItem[] = folder.others
      .map((entry) => ({ kind: 'entry' as const, path: entry.path, name: nameOf(entry.path), entry }))
      .sort(byName);
    return [...folders, ...others];
  }

  /** The folders from the root down to `path`, root ('') first. */
  trail(path: string): string[] {
    if (path === '') return [''];
    const parts = path.split('/');
    return ['', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
  }

  /** Files under a folder and their bytes, for its row. */
  totals(path: string): { files: number; bytes: number } {
    const folder = this.folders.get(path);
    return { files: folder?.files ?? 0, bytes: folder?.bytes ?? 0 };
  }

  /** The selectable paths at or under folder `path`: its own entry, if listed, and its subtree's. */
  private subtree(path: string): string[] {
    const out: string[] = [];
    const pending = [this.folders.get(path)];
    for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
      if (folder.entry !== null) out.push(folder.path);
      for (const entry of folder.others) if (isSelectable(entry)) out.push(entry.path);
      pending.push(...folder.folders.values());
    }
    return out;
  }

  /** Selects or clears a folder with everything under it (docs/WEB.md "Browsing folders"). */
  setFolder(path: string, on: boolean): void {
    for (const each of this.subtree(path)) this.setEntry(each, on);
  }

  /** Selects or clears one entry (a file's row). */
  setEntry(path: string, on: boolean): void {
    if (on) this.selected.add(path);
    else this.selected.delete(path);
    this.counts = null;
  }

  /** Selects or clears every file and directory of the listing, in every folder. */
  setAll(on: boolean): void {
    if (!on) this.selected.clear();
    else for (const path of this.allSelectable) this.selected.add(path);
    this.counts = null;
  }

  isSelected(path: string): boolean {
    return this.selected.has(path);
  }

  /**
   * How a folder's box shows: 'all' when it and everything under it are selected, 'some' when only
   * part is (so a selection made deeper down shows on the way back up), else 'none'.
   */
  folderState(path: string): 'all' | 'some' | 'none' {
    const total = this.folders.get(path)?.selectable ?? 0;
    const count = this.selectedCounts().get(path) ?? 0;
    return count === 0 ? 'none' : count === total ? 'all' : 'some';
  }

  /** One pass over the selection, so drawing a folder of many subfolders stays linear. */
  private selectedCounts(): Map<string, number> {
    if (this.counts !== null) return this.counts;
    const counts = new Map<string, number>();
    for (const selected of this.selected) {
      // A selected directory counts in its own folder; anything else in the folder holding it.
      let path: string | null =
        (this.folders.get(selected)?.entry ?? null) !== null ? selected : parentOf(selected);
      for (; path !== null; path = path === '' ? null : parentOf(path)) {
        counts.set(path, (counts.get(path) ?? 0) + 1);
      }
    }
    this.counts = counts;
    return counts;
  }

  /** State of the whole listing, for the Select all box. */
  allState(): 'all' | 'some' | 'none' {
    const count = this.selected.size;
    return count === 0 ? 'none' : count === this.allSelectable.length ? 'all' : 'some';
  }

  /** The selected paths, in listing order (the order a save writes them). */
  selection(): string[] {
    return this.allSelectable.filter((path) => this.selected.has(path));
  }
}
