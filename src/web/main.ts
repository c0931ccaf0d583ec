// Entry point of the backup opener page (docs/WEB.md): wires the form, the listing, saving and the
// key maker. Bundled by scripts/build-web.mjs into dist/web/main.js (a classic script, so the page
// also works from file://). Browser-only: no node: module may be imported here.
import { formatBytes } from '../client/format-bytes.ts';
import { StrongroomError } from '../errors.ts';
import { BackupKey } from '../format/key.ts';
import { webCrypto } from '../format/webcrypto.ts';
import {
  type BackupContents,
  extractFile,
  type FileSink,
  openBackup,
  type ReadOptions,
  type SelectedEntry,
  selectedEntries,
} from './open-backup.ts';
import {
  blobSink,
  canSaveToFolder,
  canStreamToDisk,
  pickerSink,
  pickFolder,
  saveIntoFolder,
  zipOf,
} from './save.ts';
import {
  describeFailure,
  element,
  hideListing,
  hideOutcome,
  hideProgress,
  type ListedFile,
  renderListing,
  selectBoxes,
  sentence,
  showFieldError,
  showOutcome,
  showProgress,
  updateSelection,
} from './view.ts';

/** A backup that opened and verified; its key lives until the backup is closed. */
interface Opened {
  readonly file: File;
  readonly key: BackupKey;
  readonly files: readonly ListedFile[];
  /**
   * Reads the chosen entries again in one verifying pass. Saving a selection goes only through
   * this, so another kind of source (a repository) only has to supply its own.
   */
  readonly select: (paths: ReadonlySet<string>, options: ReadOptions) => AsyncGenerator<SelectedEntry>;
  /** Object URLs of saved files, revoked on close. */
  readonly urls: string[];
}

const form = element<HTMLFormElement>('open-form');
const fileInput = element<HTMLInputElement>('backup-file');
const keyInput = element<HTMLInputElement>('backup-key');
const fileError = element('file-error');
const keyError = element('key-error');
const cancelButton = element<HTMLButtonElement>('cancel-button');

let chosen: File | null = null;
let opened: Opened | null = null;
let running: AbortController | null = null;

/** WebCrypto exists only in secure contexts (https, localhost, file://); streams need a recent browser. */
function missingSupport(): string | null {
  if (globalThis.crypto?.subtle === undefined) {
    return 'This browser offers no WebCrypto here: open the page over https, from localhost, or as a local file.';
  }
  if (typeof DecompressionStream !== 'function' || typeof Blob.prototype.stream !== 'function') {
    return 'This browser is too old to decrypt backups here (it lacks streams); use a current browser.';
  }
  return null;
}

/** Forgets the opened backup: its key is zeroed and saved files' URLs revoked. */
function closeBackup(): void {
  if (opened === null) return;
  for (const url of opened.urls) URL.revokeObjectURL(url);
  opened.key.destroy();
  opened = null;
  hideListing();
}

function setBusy(controller: AbortController | null): void {
  running = controller;
  for (const fieldset of form.querySelectorAll('fieldset')) fieldset.disabled = controller !== null;
  element<HTMLButtonElement>('open-button').disabled = controller !== null;
  element<HTMLButtonElement>('close-button').disabled = controller !== null;
  for (const button of document.querySelectorAll<HTMLButtonElement>('button.save'))
    button.disabled = controller !== null;
  for (const box of [...selectBoxes(), element<HTMLInputElement>('select-all')])
    box.disabled = controller !== null;
  if (controller === null) updateSelection(null);
  else element<HTMLButtonElement>('save-selected').disabled = true;
  cancelButton.hidden = controller === null;
  if (controller === null) hideProgress();
}

function chooseFile(file: File | undefined): void {
  closeBackup();
  hideOutcome();
  chosen = file ?? null;
  showFieldError(fileInput, fileError, null);
  element('file-summary').textContent =
    chosen === null ? 'No file chosen.' : `${chosen.name}, ${formatBytes(chosen.size)}`;
}

/** The key in the key field, or null after showing the parser's message under the field. */
function readKey(): BackupKey | null {
  if (keyInput.value.trim() === '') {
    showFieldError(keyInput, keyError, 'Enter the backup key.');
    return null;
  }
  try {
    const key = BackupKey.parse(keyInput.value);
    showFieldError(keyInput, keyError, null);
    return key;
  } catch (error) {
    if (!(error instanceof StrongroomError)) throw error;
    // The same messages as the CLI ("63 hex digits, expected 64"); they never echo the key.
    showFieldError(
      keyInput,
      keyError,
      [`Not a valid key: ${error.message}`, ...error.hints].map(sentence).join(' '),
    );
    return null;
  }
}

async function openChosen(): Promise<void> {
  if (running !== null) return;
  closeBackup();
  hideOutcome();
  if (chosen === null) {
    showFieldError(fileInput, fileError, 'Choose a backup file first.');
    fileInput.focus();
    return;
  }
  const key = readKey();
  if (key === null) {
    keyInput.focus();
    return;
  }
  const file = chosen;
  const controller = new AbortController();
  setBusy(controller);
  let contents: BackupContents;
  try {
    contents = await openBackup(file, key, {
      signal: controller.signal,
      onProgress: (done, total) => showProgress(`Decrypting and verifying ${file.name}`, done, total),
    });
  } catch (error) {
    key.destroy();
    showOutcome(describeFailure(error, 'open'), 'error');
    return;
  } finally {
    setBusy(null);
  }
  opened = {
    file,
    key,
    files: renderListing(contents, file.name),
    select: (paths, options) => selectedEntries(file, key, paths, options),
    urls: [],
  };
  updateSelection(null);
  element('listing-heading').focus();
}

/**
 * Saves one listed file: decrypts the whole backup again, and hands the file over only after the
 * final chunk verified (a listing alone keeps no plaintext, so memory stays constant).
 */
async function save(button: HTMLButtonElement): Promise<void> {
  const state = opened;
  const listed = state?.files[Number(button.dataset.index)];
  if (state === null || listed === undefined || running !== null) return;
  hideOutcome();
  let sink: FileSink | null;
  try {
    sink = canStreamToDisk()
      ? // First await of the click: the save dialog needs the click's user activation.
        await pickerSink(listed.name)
      : blobSink((url) => {
          state.urls.push(url);
          offerDownload(button, url, listed.name);
        });
  } catch (error) {
    showOutcome(describeFailure(error, 'save'), 'error');
    return;
  }
  if (sink === null) return; // the user cancelled the save dialog
  const controller = new AbortController();
  setBusy(controller);
  try {
    await extractFile(state.file, state.key, listed.path, sink, {
      signal: controller.signal,
      onProgress: (done, total) =>
        showProgress(`Decrypting and verifying again to save ${listed.name}`, done, total),
    });
    showOutcome(
      {
        title: 'Saved',
        message: `Saved ${listed.name}: the whole backup verified again, to its final chunk.`,
        hints: [],
      },
      'info',
    );
  } catch (error) {
    showOutcome(describeFailure(error, 'save'), 'error');
  } finally {
    setBusy(null);
  }
}

/**
 * Saves the selected entries in one pass over the backup: into a folder the user picks where the
 * browser can write one (Chromium), else as one zip offered for download. Either way nothing is
 * handed over before the final chunk verified (docs/WEB.md "Downloads and memory").
 */
async function saveSelection(): Promise<void> {
  const state = opened;
  if (state === null || running !== null) return;
  const paths = new Set(updateSelection(null));
  if (paths.size === 0) return;
  hideOutcome();
  let folder: FileSystemDirectoryHandle | null = null;
  if (canSaveToFolder()) {
    try {
      // First await of the click: the folder dialog needs the click's user activation.
      folder = await pickFolder();
    } catch (error) {
      showOutcome(describeFailure(error, 'save-selection'), 'error');
      return;
    }
    if (folder === null) return; // the user cancelled the folder dialog
  }
  const controller = new AbortController();
  setBusy(controller);
  const what = paths.size === 1 ? '1 entry' : `${paths.size} entries`;
  const entries = state.select(paths, {
    signal: controller.signal,
    onProgress: (done, total) => showProgress(`Decrypting and verifying again to save ${what}`, done, total),
  });
  try {
    let where: string;
    if (folder !== null) {
      await saveIntoFolder(folder, entries);
      where = `into the folder ${folder.name}`;
    } else {
      const name = `${state.file.name.replace(/\.srb$/i, '') || 'backup'}.zip`;
      const url = URL.createObjectURL(await zipOf(entries));
      state.urls.push(url);
      offerZip(url, name);
      where = `as ${name}`;
    }
    showOutcome(
      {
        title: 'Saved',
        message: `Saved ${what} ${where}: the whole backup verified again, to its final chunk.`,
        hints: [],
      },
      'info',
    );
  } catch (error) {
    showOutcome(describeFailure(error, 'save-selection'), 'error');
  } finally {
    setBusy(null);
  }
}

/** Shows a link to the verified zip above the listing, and follows it once. */
function offerZip(url: string, name: string): void {
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.className = 'download';
  link.textContent = `Download ${name}`;
  element('zip-link').replaceChildren(link);
  link.click();
}

/** Replaces a Save button by a link to the verified file, and follows it once. */
function offerDownload(button: HTMLButtonElement, url: string, name: string): void {
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.className = 'download';
  link.textContent = `Download ${name}`;
  button.replaceWith(link);
  link.click();
}

function showNewKey(): void {
  const key = BackupKey.generate(webCrypto.randomBytes);
  element<HTMLOutputElement>('new-key').value = key.format();
  key.destroy(); // the key now exists only as the text shown
}

function start(): void {
  const problem = missingSupport();
  if (problem !== null) {
    const notice = element('unsupported');
    notice.textContent = problem;
    notice.hidden = false;
    for (const fieldset of form.querySelectorAll('fieldset')) fieldset.disabled = true;
    element<HTMLButtonElement>('open-button').disabled = true;
    element<HTMLButtonElement>('new-key-button').disabled = true;
    return;
  }
  fileInput.addEventListener('change', () => chooseFile(fileInput.files?.[0]));
  keyInput.addEventListener('input', () => {
    closeBackup();
    showFieldError(keyInput, keyError, null);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void openChosen();
  });
  cancelButton.addEventListener('click', () => running?.abort());
  element('close-button').addEventListener('click', () => {
    closeBackup();
    hideOutcome();
    fileInput.focus();
  });
  element('entries').addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button.save');
    if (button !== null) void save(button);
  });
  element('entries').addEventListener('change', (event) => {
    const box = event.target as HTMLInputElement;
    if (box.classList.contains('select')) updateSelection(box);
  });
  element<HTMLInputElement>('select-all').addEventListener('change', (event) => {
    const all = event.target as HTMLInputElement;
    for (const box of selectBoxes()) box.checked = all.checked;
    updateSelection(null);
  });
  element('save-selected').addEventListener('click', () => void saveSelection());
  element('new-key-button').addEventListener('click', showNewKey);
  // The key is masked by default (someone may be looking at the screen); Show reveals it to check.
  const keyToggle = element<HTMLButtonElement>('key-toggle');
  keyToggle.addEventListener('click', () => {
    const show = keyInput.type === 'password';
    keyInput.type = show ? 'text' : 'password';
    keyToggle.textContent = show ? 'Hide' : 'Show';
    keyToggle.setAttribute('aria-pressed', String(show));
  });

  // A file dropped anywhere on the page is chosen (instead of the browser navigating to it).
  const zone = element('drop-zone');
  document.addEventListener('dragover', (event) => {
    event.preventDefault();
    if (event.dataTransfer !== null) event.dataTransfer.dropEffect = running === null ? 'copy' : 'none';
    zone.classList.add('dragging');
  });
  document.addEventListener('dragleave', (event) => {
    if (event.relatedTarget === null) zone.classList.remove('dragging');
  });
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (file === undefined || running !== null) return;
    fileInput.value = '';
    chooseFile(file);
    keyInput.focus();
  });
}

start();
