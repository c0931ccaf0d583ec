// What the backup opener page shows (docs/WEB.md "What the page does"): the outcome of an attempt,
// progress, and the listing of a verified backup. Text only ever goes in through textContent, so
// names from a backup cannot become markup.

import { formatBytes } from '../client/format-bytes.ts';
import { DamagedBackupError, messageOf, StrongroomError, WrongKeyError } from '../errors.ts';
import type { ArchiveEntry } from '../format/archive.ts';
import { FolderIndex } from './folders.ts';
import { type BackupContents, NotABackupError, UnreadableFileError } from './open-backup.ts';
import { NotARepositoryError, type OpenedRepository } from './open-repository.ts';

/** The page element with id `id`; the page and this script ship together, so a missing one is a bug. */
export function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`page element #${id} is missing`);
  return found as T;
}

/** An archive mtime (nanoseconds since 1970 UTC) as "YYYY-MM-DD HH:MM:SS". */
export function formatTime(mtimeNs: bigint): string {
  const date = new Date(Number(mtimeNs / 1_000_000n));
  return Number.isNaN(date.getTime()) ? '?' : date.toISOString().slice(0, 19).replace('T', ' ');
}

/** A CLI-style message line ("wrong key: …") as a sentence: capitalised, ending with a full stop. */
export function sentence(line: string): string {
  const text = line.charAt(0).toUpperCase() + line.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

const KIND_LABELS: Record<ArchiveEntry['type'], string> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symbolic link',
  hardlink: 'hard link',
};

/** What the page was doing when something failed. */
export type Action = 'open' | 'open-snapshot' | 'save' | 'save-selection';

/**
 * How the page words a failure: a title for the kind of outcome, then the error's own lines.
 * `doing` names the action that failed, for failures that are not about the backup itself;
 * `source` says whether it was a backup file or a repository folder (docs/WEB.md).
 */
export function describeFailure(
  error: unknown,
  doing: Action,
  source: 'backup' | 'repository' = 'backup',
): { title: string; message: string; hints: readonly string[] } {
  const failed = {
    open: source === 'backup' ? 'Could not open the backup' : 'Could not open the repository',
    'open-snapshot': 'Could not open the snapshot',
    save: 'Could not save the file',
    'save-selection': 'Could not save the selection',
  }[doing];
  if (error instanceof WrongKeyError)
    return { title: 'Wrong key', message: error.message, hints: error.hints };
  if (error instanceof DamagedBackupError && source === 'repository') {
    // Each object is verified on its own (docs/FORMAT.md §12.4), so damage stops only what needs it.
    const kept = {
      open: 'Nothing from this repository is shown.',
      'open-snapshot': 'Nothing of this snapshot is shown; the other snapshots may still open.',
      save: 'Nothing was saved; the rest of the snapshot can still be browsed and saved.',
      'save-selection': 'Nothing was saved; the rest of the snapshot can still be browsed and saved.',
    }[doing];
    return { title: 'Damaged repository', message: error.message, hints: [...error.hints, kept] };
  }
  if (error instanceof DamagedBackupError) {
    return {
      title: 'Damaged or forged backup',
      message: error.message,
      hints: [...error.hints, 'Nothing from this backup is shown or offered for saving.'],
    };
  }
  if (error instanceof NotARepositoryError) {
    return { title: 'Not a Strongroom repository', message: error.message, hints: error.hints };
  }
  if (error instanceof DOMException && error.name === 'AbortError') {
    return { title: 'Stopped', message: 'Decryption was stopped; nothing was kept.', hints: [] };
  }
  if (error instanceof NotABackupError) {
    return { title: 'Not a Strongroom backup', message: error.message, hints: error.hints };
  }
  if (error instanceof UnreadableFileError) {
    return { title: 'Could not read the file', message: error.message, hints: error.hints };
  }
  if (error instanceof StrongroomError) {
    return { title: failed, message: error.message, hints: error.hints };
  }
  const detail = messageOf(error);
  return { title: failed, message: detail, hints: [] };
}

export function showOutcome(
  outcome: { title: string; message: string; hints: readonly string[] },
  tone: 'error' | 'info',
): void {
  const box = element('outcome');
  box.className = `outcome ${tone}`;
  element('outcome-title').textContent = outcome.title;
  element('outcome-message').textContent = sentence(outcome.message);
  element('outcome-hints').replaceChildren(
    ...outcome.hints.map((hint) => {
      const item = document.createElement('li');
      item.textContent = sentence(hint);
      return item;
    }),
  );
  box.hidden = false;
}

export function hideOutcome(): void {
  element('outcome').hidden = true;
}

/** A field's error line under it, tied to the field for assistive technology; null clears it. */
export function showFieldError(field: HTMLInputElement, line: HTMLElement, message: string | null): void {
  line.textContent = message ?? '';
  line.hidden = message === null;
  if (message === null) field.removeAttribute('aria-invalid');
  else field.setAttribute('aria-invalid', 'true');
}

/** Progress of a pass over the backup file. */
export function showProgress(label: string, done: number, total: number): void {
  element('progress-section').hidden = false;
  element('progress-label').textContent = label;
  const bar = element<HTMLProgressElement>('progress');
  bar.value = total === 0 ? 1 : done / total;
  const percent = total === 0 ? 100 : Math.floor((100 * done) / total);
  element('progress-text').textContent = `${percent}% (${formatBytes(done)} of ${formatBytes(total)})`;
}

/** A pass whose length is not known ahead: the label and a bar that only shows activity. */
export function showBusy(label: string): void {
  element('progress-section').hidden = false;
  element('progress-label').textContent = label;
  element<HTMLProgressElement>('progress').removeAttribute('value');
  element('progress-text').textContent = '';
}

export function hideProgress(): void {
  element('progress-section').hidden = true;
}

/** One row of the listing: what a saveable file is called, and its archive path (null: single file). */
export interface ListedFile {
  readonly name: string;
  readonly path: string | null;
}

/**
 * The archive or snapshot on screen, browsed one folder at a time (docs/WEB.md "Browsing
 * folders"): the folder index with the selection, and the download links already offered, so
 * that coming back to a folder shows them again.
 */
interface Browsing {
  readonly index: FolderIndex;
  readonly rootName: string;
  /** Each file's index in `files` by path: a Save button's data-index. */
  readonly fileIndex: ReadonlyMap<string, number>;
  readonly offered: Map<number, HTMLAnchorElement>;
  /** The folder on screen. */
  shown: string;
}

let browsing: Browsing | null = null;

/**
 * Fills the listing of a verified backup or snapshot and returns its files; each Save button's
 * data-index is the index of its ListedFile there. A single file (strongroom encrypt) is one row;
 * an archive shows its top folder, each folder row opening that folder, each file and directory
 * row with a Select checkbox whose data-path is the entry's path. `rootName` names the top folder
 * in the breadcrumb.
 */
export function renderListing(
  contents: BackupContents,
  backupName: string,
  verified = 'Verified: the whole backup authenticated, to its final chunk.',
  rootName = backupName,
): ListedFile[] {
  const files: ListedFile[] = [];
  let summary: string;
  const archive = contents.kind === 'archive';
  browsing = null;
  if (contents.kind === 'single') {
    const name = backupName.replace(/\.srb$/i, '') || 'decrypted';
    files.push({ name, path: null });
    element('entries').replaceChildren(
      row(['', name, 'file', sizeCell(contents.size), '—', saveButton(0, name)]),
    );
    summary = `${verified} It holds one file (made with strongroom encrypt), ${formatBytes(contents.size)}.`;
  } else {
    const counts = { file: 0, directory: 0, symlink: 0, hardlink: 0 };
    const fileIndex = new Map<string, number>();
    let bytes = 0;
    for (const entry of contents.entries) {
      counts[entry.type]++;
      if (entry.type !== 'file') continue;
      bytes += entry.size;
      fileIndex.set(entry.path, files.length);
      files.push({ name: entry.path.slice(entry.path.lastIndexOf('/') + 1), path: entry.path });
    }
    summary =
      `${verified} ${count(contents.entries.length, 'entry', 'entries')}: ` +
      `${count(counts.file, 'file', 'files')} (${formatBytes(bytes)}), ${count(counts.directory, 'directory', 'directories')}, ` +
      `${count(counts.symlink, 'symbolic link', 'symbolic links')}.`;
    browsing = {
      index: new FolderIndex(contents.entries),
      rootName,
      fileIndex,
      offered: new Map(),
      shown: '',
    };
    showFolder('');
  }
  element('listing-summary').textContent = summary;
  element('selection-bar').hidden = !archive;
  element('breadcrumb').hidden = !archive;
  element('folder-summary').hidden = !archive;
  element('listing').classList.toggle('single', !archive);
  element('listing').hidden = false;
  return files;
}

/**
 * Shows the folder at `path` of the listing on screen: its folders first, then its files and
 * links, each group by name, under a breadcrumb from the top folder. Returns false (and changes
 * nothing) if the listing has no such folder.
 */
export function showFolder(path: string): boolean {
  const state = browsing;
  if (state === null || !state.index.has(path)) return false;
  const items = state.index.items(path);
  const rows = items.map((item) => {
    if (item.kind === 'folder') {
      const totals = state.index.totals(item.path);
      const size = sizeCell(totals.bytes);
      size.title = `${count(totals.files, 'file', 'files')}, ${size.title}`;
      const tr = row([
        folderBox(state.index, item.path),
        folderButton(item.name, item.path),
        KIND_LABELS.directory,
        size,
        item.entry === null ? '—' : formatTime(item.entry.mtimeNs),
        '',
      ]);
      tr.classList.add('folder');
      return tr;
    }
    const entry = item.entry;
    if (entry.type === 'file') {
      const index = state.fileIndex.get(entry.path)!;
      return row([
        entryBox(state.index, entry.path),
        item.name,
        KIND_LABELS.file,
        sizeCell(entry.size),
        formatTime(entry.mtimeNs),
        state.offered.get(index) ?? saveButton(index, entry.path),
      ]);
    }
    const kind =
      entry.type === 'symlink' || entry.type === 'hardlink'
        ? `${KIND_LABELS[entry.type]} → ${entry.target}`
        : KIND_LABELS[entry.type];
    return row(['', item.name, kind, '', formatTime(entry.mtimeNs), '']);
  });
  element('entries').replaceChildren(...rows);
  state.shown = path;
  renderBreadcrumb(state, path);
  const folders = items.filter((item) => item.kind === 'folder').length;
  const files = items.filter((item) => item.entry?.type === 'file' && item.kind === 'entry').length;
  const links = items.length - folders - files;
  element('folder-summary').textContent =
    items.length === 0
      ? 'This folder is empty.'
      : `In this folder: ${count(folders, 'folder', 'folders')}, ${count(files, 'file', 'files')}` +
        (links === 0 ? '.' : `, ${count(links, 'link', 'links')}.`);
  return true;
}

/**
 * The number of folder `path` of the listing on screen (FolderIndex.numberOf), which is how a
 * history entry names a folder (docs/WEB.md "Back and Forward"); null if there is no such folder.
 */
export function folderNumber(path: string): number | null {
  return browsing?.index.numberOf(path) ?? null;
}

/** The number of the folder on screen; null when no folder is shown. */
export function shownFolderNumber(): number | null {
  return browsing === null ? null : folderNumber(browsing.shown);
}

/** Shows the folder numbered `number`; false (and nothing changes) if the listing has none. */
export function showFolderNumber(number: number): boolean {
  const path = browsing?.index.pathOf(number);
  return path !== undefined && showFolder(path);
}

function renderBreadcrumb(state: Browsing, path: string): void {
  const trail = state.index.trail(path);
  const items = trail.map((folder, i) => {
    const item = document.createElement('li');
    const name = folder === '' ? state.rootName : folder.slice(folder.lastIndexOf('/') + 1);
    if (i === trail.length - 1) {
      // The folder shown is text, not a control; focus lands here after moving, to announce it.
      const current = document.createElement('span');
      current.className = 'current';
      current.tabIndex = -1;
      current.setAttribute('aria-current', 'location');
      current.dataset.folder = folder;
      current.textContent = name;
      item.append(current);
    } else {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'crumb';
      button.dataset.folder = folder;
      button.textContent = name;
      button.setAttribute(
        'aria-label',
        folder === '' ? `Go to the top folder, ${name}` : `Go to folder ${folder}`,
      );
      item.append(button);
    }
    return item;
  });
  element('breadcrumb-list').replaceChildren(...items);
}

/** Moves focus to the folder's name in the breadcrumb, after the user moved to it. */
export function focusFolder(): void {
  element('breadcrumb-list').querySelector<HTMLElement>('[aria-current]')?.focus();
}

function saveButton(index: number, label: string): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'save';
  button.dataset.index = String(index);
  button.textContent = 'Save';
  button.setAttribute('aria-label', `Save ${label}`);
  return button;
}

function folderButton(name: string, path: string): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'folder-link';
  button.dataset.folder = path;
  button.textContent = `${name}/`;
  button.setAttribute('aria-label', `Open folder ${path}`);
  return button;
}

function selectBox(path: string): HTMLInputElement {
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.className = 'select';
  box.dataset.path = path;
  box.setAttribute('aria-label', `Select ${path}`);
  return box;
}

function entryBox(index: FolderIndex, path: string): HTMLInputElement {
  const box = selectBox(path);
  box.checked = index.isSelected(path);
  return box;
}

/** A folder's box stands for its whole subtree: mixed when only part of it is selected. */
function folderBox(index: FolderIndex, path: string): HTMLInputElement | string {
  const state = index.folderState(path);
  if (!index.hasSelectable(path)) return '';
  const box = selectBox(path);
  box.dataset.folder = 'true';
  box.checked = state === 'all';
  box.indeterminate = state === 'some';
  return box;
}

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function sizeCell(bytes: number): HTMLTableCellElement {
  const cell = document.createElement('td');
  cell.className = 'number';
  cell.textContent = formatBytes(bytes);
  cell.title = `${bytes.toLocaleString('en')} bytes`;
  cell.dataset.bytes = String(bytes);
  return cell;
}

/** Each cell's class names its column, so the narrow layout can place it (style.css). */
const COLUMNS = ['select', 'path', 'kind', 'size', 'modified', 'action'] as const;

function row(cells: (string | HTMLElement)[]): HTMLTableRowElement {
  const tr = document.createElement('tr');
  cells.forEach((content, i) => {
    const cell = content instanceof HTMLTableCellElement ? content : document.createElement('td');
    if (cell !== content) cell.append(content);
    cell.classList.add(COLUMNS[i]!);
    tr.append(cell);
  });
  return tr;
}

export function hideListing(): void {
  browsing = null;
  element('listing').hidden = true;
  element('entries').replaceChildren();
  element('breadcrumb-list').replaceChildren();
  element('folder-summary').textContent = '';
  element('zip-link').replaceChildren();
  const all = element<HTMLInputElement>('select-all');
  all.checked = false;
  all.indeterminate = false;
}

/**
 * Replaces file `index`'s Save button by the link to its verified copy, kept for when its folder
 * is shown again, and follows the link once.
 */
export function offerDownload(index: number, url: string, name: string): void {
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.className = 'download';
  link.textContent = `Download ${name}`;
  browsing?.offered.set(index, link);
  element('entries').querySelector(`button.save[data-index="${index}"]`)?.replaceWith(link);
  link.click();
}

/**
 * Follows a click on a Select checkbox (null: none, just redraw): a folder's box selects or
 * clears everything under it, in folders not shown too; the boxes shown, the Select all box and
 * the Save selected button follow. Returns the selected paths, in listing order.
 */
export function updateSelection(changed: HTMLInputElement | null): string[] {
  const state = browsing;
  const changedPath = changed?.dataset.path;
  if (state !== null && changed !== null && changedPath !== undefined) {
    if (changed.dataset.folder === 'true') state.index.setFolder(changedPath, changed.checked);
    else state.index.setEntry(changedPath, changed.checked);
  }
  for (const box of element('entries').querySelectorAll<HTMLInputElement>('input.select')) {
    const path = box.dataset.path ?? '';
    const shown = box.dataset.folder === 'true' ? state?.index.folderState(path) : undefined;
    box.checked = shown === undefined ? (state?.index.isSelected(path) ?? false) : shown === 'all';
    box.indeterminate = shown === 'some';
  }
  const selected = state?.index.selection() ?? [];
  const all = element<HTMLInputElement>('select-all');
  const whole = state?.index.allState() ?? 'none';
  all.checked = whole === 'all';
  all.indeterminate = whole === 'some';
  const button = element<HTMLButtonElement>('save-selected');
  button.disabled = selected.length === 0;
  button.textContent =
    selected.length === 0 ? 'Save selected' : `Save ${count(selected.length, 'entry', 'entries')}`;
  return selected;
}

/** Selects or clears every file and directory of the listing, in every folder (Select all). */
export function selectAll(on: boolean): string[] {
  browsing?.index.setAll(on);
  return updateSelection(null);
}

/** A snapshot time (ISO 8601 UTC) as "YYYY-MM-DD HH:MM:SS", like file times. */
export function formatSnapshotTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '?' : date.toISOString().slice(0, 19).replace('T', ' ');
}

/** The short form of a snapshot id the page shows (the full id is its title). */
export const shortId = (id: string) => id.slice(0, 8);

/**
 * Fills the snapshot list of an opened repository: one row per snapshot, newest first, with an
 * Open button whose data-id is the snapshot's id; a damaged snapshot is listed with its message
 * and no button.
 */
export function renderSnapshots(opened: OpenedRepository): void {
  const cells = (entries: [string, string | HTMLElement][]) => {
    const tr = document.createElement('tr');
    for (const [column, content] of entries) {
      const cell = document.createElement('td');
      cell.className = column;
      cell.append(content);
      tr.append(cell);
    }
    return tr;
  };
  const rows = [...opened.snapshots].reverse().map((snapshot) => {
    const time = formatSnapshotTime(snapshot.time);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'save open-snapshot';
    button.dataset.id = snapshot.id;
    button.textContent = 'Open';
    button.setAttribute('aria-label', `Open snapshot ${shortId(snapshot.id)} of ${time}`);
    const tr = cells([
      ['id', shortId(snapshot.id)],
      ['time', time],
      ['files', count(snapshot.files, 'file', 'files')],
      ['size', formatBytes(snapshot.size)],
      ['action', button],
    ]);
    tr.cells[0]!.title = snapshot.id;
    tr.cells[3]!.dataset.bytes = String(snapshot.size);
    tr.cells[3]!.classList.add('number');
    return tr;
  });
  for (const damaged of opened.damaged) {
    const tr = cells([
      ['id', shortId(damaged.id)],
      ['time', 'damaged'],
      ['files', sentence(damaged.message)],
      ['size', ''],
      ['action', ''],
    ]);
    tr.classList.add('damaged');
    tr.cells[0]!.title = damaged.id;
    rows.push(tr);
  }
  const damaged =
    opened.damaged.length === 0
      ? ''
      : ` ${count(opened.damaged.length, 'snapshot is', 'snapshots are')} damaged and cannot be opened.`;
  element('repository-summary').textContent =
    `Verified: the repository's key check, indexes and snapshot list authenticated. ` +
    `${count(opened.snapshots.length, 'snapshot', 'snapshots')} in ${opened.name}.${damaged}`;
  element('snapshots').replaceChildren(...rows);
  element('repository').hidden = false;
}

export function hideSnapshots(): void {
  element('repository').hidden = true;
  element('snapshots').replaceChildren();
}
