// What the backup opener page shows (docs/WEB.md "What the page does"): the outcome of an attempt,
// progress, and the listing of a verified backup. Text only ever goes in through textContent, so
// names from a backup cannot become markup.

import { formatBytes } from '../client/format-bytes.ts';
import { DamagedBackupError, messageOf, StrongroomError, WrongKeyError } from '../errors.ts';
import type { ArchiveEntry } from '../format/archive.ts';
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
 * Fills the listing of a verified backup. Each file row gets a Save button whose data-index is the
 * index of its ListedFile in the returned array; in an archive, each file and directory row also
 * gets a Select checkbox whose data-path is the entry's path (a directory's selects what it holds).
 */
export function renderListing(
  contents: BackupContents,
  backupName: string,
  verified = 'Verified: the whole backup authenticated, to its final chunk.',
): ListedFile[] {
  const files: ListedFile[] = [];
  const rows: HTMLTableRowElement[] = [];
  const saveButton = (file: ListedFile) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'save';
    button.dataset.index = String(files.length);
    button.textContent = 'Save';
    button.setAttribute('aria-label', `Save ${file.path ?? file.name}`);
    files.push(file);
    return button;
  };
  let summary: string;
  const archive = contents.kind === 'archive';
  if (contents.kind === 'single') {
    const name = backupName.replace(/\.srb$/i, '') || 'decrypted';
    const file = { name, path: null };
    rows.push(row(['', name, 'file', sizeCell(contents.size), '—', saveButton(file)]));
    summary = `${verified} It holds one file (made with strongroom encrypt), ${formatBytes(contents.size)}.`;
  } else {
    const counts = { file: 0, directory: 0, symlink: 0, hardlink: 0 };
    let bytes = 0;
    for (const entry of contents.entries) {
      counts[entry.type]++;
      let kind = KIND_LABELS[entry.type];
      let size: HTMLTableCellElement | string = '';
      let action: HTMLElement | string = '';
      let select: HTMLElement | string = '';
      if (entry.type === 'symlink' || entry.type === 'hardlink') kind = `${kind} → ${entry.target}`;
      if (entry.type === 'file') {
        bytes += entry.size;
        size = sizeCell(entry.size);
        action = saveButton({ name: entry.path.slice(entry.path.lastIndexOf('/') + 1), path: entry.path });
      }
      if (entry.type === 'file' || entry.type === 'directory') select = selectBox(entry.path);
      rows.push(row([select, entry.path, kind, size, formatTime(entry.mtimeNs), action]));
    }
    summary =
      `${verified} ${count(contents.entries.length, 'entry', 'entries')}: ` +
      `${count(counts.file, 'file', 'files')} (${formatBytes(bytes)}), ${count(counts.directory, 'directory', 'directories')}, ` +
      `${count(counts.symlink, 'symbolic link', 'symbolic links')}.`;
  }
  element('listing-summary').textContent = summary;
  element('entries').replaceChildren(...rows);
  element('selection-bar').hidden = !archive;
  element('listing').classList.toggle('single', !archive);
  element('listing').hidden = false;
  return files;
}

function selectBox(path: string): HTMLInputElement {
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.className = 'select';
  box.dataset.path = path;
  box.setAttribute('aria-label', `Select ${path}`);
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
  element('listing').hidden = true;
  element('entries').replaceChildren();
  element('zip-link').replaceChildren();
  element<HTMLInputElement>('select-all').checked = false;
}

/** Each Select checkbox of the listing. */
export function selectBoxes(): HTMLInputElement[] {
  return Array.from(element('entries').querySelectorAll<HTMLInputElement>('input.select'));
}

/**
 * Follows a click on a Select checkbox: a directory's box sets every box under it, and the Select
 * all box and the Save selected button follow. Returns the selected paths.
 */
export function updateSelection(changed: HTMLInputElement | null): string[] {
  const boxes = selectBoxes();
  const changedPath = changed?.dataset.path;
  if (changed !== null && changedPath !== undefined) {
    for (const box of boxes) {
      if (box.dataset.path?.startsWith(`${changedPath}/`)) box.checked = changed.checked;
    }
  }
  const selected = boxes.filter((box) => box.checked).map((box) => box.dataset.path ?? '');
  const all = element<HTMLInputElement>('select-all');
  all.checked = boxes.length > 0 && selected.length === boxes.length;
  all.indeterminate = selected.length > 0 && selected.length < boxes.length;
  const button = element<HTMLButtonElement>('save-selected');
  button.disabled = selected.length === 0;
  button.textContent =
    selected.length === 0 ? 'Save selected' : `Save ${count(selected.length, 'entry', 'entries')}`;
  return selected;
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
