// Entry point of the backup opener page (docs/WEB.md): wires the form, the listing, saving and the
// key maker. Bundled by scripts/build-web.mjs into dist/web/main.js (a classic script, so the page
// also works from file://). Browser-only: no node: module may be imported here.
import { formatBytes } from '../client/format-bytes.ts';
import { listSnapshot, type SnapshotListing, snapshotEntries } from '../client/repository/browse.ts';
import { StrongroomError } from '../errors.ts';
import { BackupKey } from '../format/key.ts';
import { webCrypto } from '../format/webcrypto.ts';
import { canPickFolder, folderOfInput, type PickedFolder, pickFolderToRead } from './folder-store.ts';
import { Navigation, type View } from './navigation.ts';
import {
  type BackupContents,
  extractFile,
  type FileSink,
  openBackup,
  type ReadOptions,
  type SelectedEntry,
  selectedEntries,
  writeOneFile,
} from './open-backup.ts';
import { type OpenedRepository, openRepository } from './open-repository.ts';
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
  focusFolder,
  folderNumber,
  formatSnapshotTime,
  hideListing,
  hideOutcome,
  hideProgress,
  hideSnapshots,
  type ListedFile,
  offerDownload,
  renderListing,
  renderSnapshots,
  selectAll,
  sentence,
  shortId,
  showBusy,
  showFieldError,
  showFolder,
  showFolderNumber,
  shownFolderNumber,
  showOutcome,
  showProgress,
  updateSelection,
} from './view.ts';

/**
 * A listing on screen: a backup file that opened and verified, or one snapshot of an opened
 * repository whose trees verified. Saving goes only through `select` and `extract`, so each kind
 * of source supplies its own verifying pass.
 */
interface Opened {
  readonly source: 'backup' | 'repository';
  /** The snapshot listed, by its id; null for a backup file. */
  readonly snapshot: string | null;
  /** What a zip of a selection is named after. */
  readonly name: string;
  readonly files: readonly ListedFile[];
  /** Reads the chosen entries again in one verifying pass. */
  readonly select: (paths: ReadonlySet<string>, options: ReadOptions) => AsyncGenerator<SelectedEntry>;
  /** Writes one listed file into `sink`, committed only once it verified. */
  readonly extract: (listed: ListedFile, sink: FileSink, options: ReadOptions) => Promise<void>;
  /** How a save's pass is described: its progress label and what verified. */
  readonly pass: { readonly label: string; readonly verified: string };
  /** Forgets the listing's key, if it owns one (a backup file's; a snapshot's is the repository's). */
  readonly forget: () => void;
  /** Object URLs of saved files, revoked on close. */
  readonly urls: string[];
}

/** What the user chose to open: a backup file, or a repository's folder. */
type Chosen =
  | { readonly kind: 'file'; readonly file: File }
  | { readonly kind: 'folder'; readonly folder: PickedFolder };

const form = element<HTMLFormElement>('open-form');
const fileInput = element<HTMLInputElement>('backup-file');
const folderInput = element<HTMLInputElement>('repository-folder');
const keyInput = element<HTMLInputElement>('backup-key');
const fileError = element('file-error');
const keyError = element('key-error');
const cancelButton = element<HTMLButtonElement>('cancel-button');

let chosen: Chosen | null = null;
let opened: Opened | null = null;
/** The opened repository whose snapshots are listed; its derived keys live until it is closed. */
let repository: OpenedRepository | null = null;
let running: AbortController | null = null;
/** Back and Forward between the views of what is open (docs/WEB.md "Back and Forward"). */
const navigation = new Navigation(history, webCrypto.randomBytes);
/** Whether the page moved to another history entry while a pass ran; it follows it once the pass ends. */
let popped = false;

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

/**
 * Forgets the listing on screen: its key is zeroed (a backup file's) and saved files' URLs revoked.
 * A backup file's navigation ends with it; a snapshot's is the repository's.
 */
function closeBackup(): void {
  if (opened === null) return;
  for (const url of opened.urls) URL.revokeObjectURL(url);
  opened.forget();
  if (opened.source === 'backup') navigation.stop();
  opened = null;
  hideListing();
}

/** Forgets everything opened: the listing, and the repository with the keys derived from K. */
function closeAll(): void {
  closeBackup();
  navigation.stop();
  if (repository === null) return;
  repository.close();
  repository = null;
  hideSnapshots();
}

function setBusy(controller: AbortController | null): void {
  running = controller;
  for (const fieldset of form.querySelectorAll('fieldset')) fieldset.disabled = controller !== null;
  element<HTMLButtonElement>('open-button').disabled = controller !== null;
  element<HTMLButtonElement>('close-button').disabled = controller !== null;
  element<HTMLButtonElement>('close-repository').disabled = controller !== null;
  // Moving between folders is held too: the pass saves the selection it started with.
  for (const control of document.querySelectorAll<HTMLButtonElement | HTMLInputElement>(
    'button.save, #listing button.folder-link, #breadcrumb button, #entries input.select, #select-all',
  ))
    control.disabled = controller !== null;
  if (controller === null) updateSelection(null);
  else element<HTMLButtonElement>('save-selected').disabled = true;
  cancelButton.hidden = controller === null;
  if (controller === null) hideProgress();
  // In a task of its own, so the pass's own code has drawn what it opened first.
  if (controller === null && popped) setTimeout(followPopped, 0);
}

function chooseFile(file: File | undefined): void {
  closeAll();
  hideOutcome();
  chosen = file === undefined ? null : { kind: 'file', file };
  folderInput.value = '';
  showFieldError(fileInput, fileError, null);
  element('file-summary').textContent =
    file === undefined ? 'No file chosen.' : `${file.name}, ${formatBytes(file.size)}`;
}

function chooseFolder(folder: PickedFolder | null): void {
  closeAll();
  hideOutcome();
  fileInput.value = '';
  chosen = folder === null ? null : { kind: 'folder', folder };
  element('file-summary').textContent =
    folder === null
      ? 'No file chosen.'
      : `Repository folder ${folder.name}, ${folder.files.length === 1 ? '1 file' : `${folder.files.length} files`}`;
  showFieldError(
    folderInput,
    fileError,
    folder === null ? 'That folder holds no files: choose the folder of a repository.' : null,
  );
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
  closeAll();
  hideOutcome();
  if (chosen === null) {
    showFieldError(fileInput, fileError, 'Choose a backup file or a repository folder first.');
    fileInput.focus();
    return;
  }
  const key = readKey();
  if (key === null) {
    keyInput.focus();
    return;
  }
  if (chosen.kind === 'folder') await openFolder(chosen.folder, key);
  else await openFile(chosen.file, key);
}

async function openFile(file: File, key: BackupKey): Promise<void> {
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
  element('listing-heading').textContent = 'Contents';
  element('close-button').textContent = 'Close backup';
  opened = {
    source: 'backup',
    name: file.name.replace(/\.srb$/i, '') || 'backup',
    files: renderListing(contents, file.name),
    select: (paths, options) => selectedEntries(file, key, paths, options),
    extract: (listed, sink, options) => extractFile(file, key, listed.path, sink, options),
    pass: {
      label: 'Decrypting and verifying again',
      verified: 'the whole backup verified again, to its final chunk',
    },
    forget: () => key.destroy(),
    urls: [],
    snapshot: null,
  };
  updateSelection(null);
  element('listing-heading').focus();
  navigation.start(currentView());
}

/** Opens a repository folder and lists its snapshots (docs/WEB.md "Opening a repository"). */
async function openFolder(folder: PickedFolder, key: BackupKey): Promise<void> {
  const controller = new AbortController();
  setBusy(controller);
  showBusy(`Opening and verifying the repository ${folder.name}`);
  try {
    repository = await openRepository(folder, key, { signal: controller.signal });
  } catch (error) {
    showOutcome(describeFailure(error, 'open', 'repository'), 'error');
    return;
  } finally {
    key.destroy(); // the repository keeps only the keys derived from K (docs/FORMAT.md §12.2)
    setBusy(null);
  }
  renderSnapshots(repository);
  element('repository-heading').focus();
  navigation.start(currentView());
}

/**
 * Reads and verifies every tree of snapshot `id` and lists it like a backup's contents: at its top
 * folder when the user pressed Open, which adds a history entry; at the folder of `followed` when
 * Back or Forward re-enters it, which adds none (docs/WEB.md "Back and Forward").
 */
async function openSnapshot(id: string, followed: View | null = null): Promise<void> {
  const state = repository;
  const snapshot = state?.snapshots.find((candidate) => candidate.id === id);
  if (state === null || snapshot === undefined || running !== null) return;
  closeBackup();
  hideOutcome();
  const controller = new AbortController();
  setBusy(controller);
  const title = `snapshot ${shortId(snapshot.id)} of ${formatSnapshotTime(snapshot.time)}`;
  showBusy(`Reading and verifying the folders of ${title}`);
  let listing: SnapshotListing;
  try {
    listing = await listSnapshot(state.reader, snapshot, { signal: controller.signal });
  } catch (error) {
    showOutcome(describeFailure(error, 'open-snapshot', 'repository'), 'error');
    // The listing shown before is closed: the snapshot list is what the user moved to.
    if (followed === null && !popped) navigation.visit(currentView());
    return;
  } finally {
    setBusy(null);
  }
  element('listing-heading').textContent =
    `Snapshot ${shortId(snapshot.id)}, ${formatSnapshotTime(snapshot.time)} UTC`;
  element('close-button').textContent = 'Close snapshot';
  const files = renderListing(
    { kind: 'archive', entries: listing.entries },
    title,
    `Verified: every folder of ${title} authenticated; each file's chunks are verified as it is saved.`,
    `Snapshot ${shortId(snapshot.id)}`,
  );
  opened = {
    source: 'repository',
    name: `snapshot-${shortId(snapshot.id)}`,
    files,
    select: (paths, options) => snapshotEntries(state.reader, listing, paths, options),
    extract: (listed, sink, options) =>
      writeOneFile(snapshotEntries(state.reader, listing, new Set([listed.path ?? '']), options), sink),
    pass: { label: 'Reading and verifying', verified: 'every chunk of it verified' },
    forget: () => {},
    urls: [],
    snapshot: snapshot.id,
  };
  // Re-entered by Back or Forward: the folder that entry names, focused as after a click.
  const inner = followed?.folder ?? null;
  const moved = inner !== null && inner !== shownFolderNumber() && showFolderNumber(inner);
  updateSelection(null);
  if (moved) focusFolder();
  else element('listing-heading').focus();
  // A Back or Forward pressed during the pass wins: the page then follows that entry instead.
  if (followed === null && !popped) navigation.visit(currentView());
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
          offerDownload(Number(button.dataset.index), url, listed.name);
        });
  } catch (error) {
    showOutcome(describeFailure(error, 'save', state.source), 'error');
    return;
  }
  if (sink === null) return; // the user cancelled the save dialog
  const controller = new AbortController();
  setBusy(controller);
  try {
    await state.extract(listed, sink, {
      signal: controller.signal,
      onProgress: (done, total) => showProgress(`${state.pass.label} to save ${listed.name}`, done, total),
    });
    showOutcome(
      { title: 'Saved', message: `Saved ${listed.name}: ${state.pass.verified}.`, hints: [] },
      'info',
    );
  } catch (error) {
    showOutcome(describeFailure(error, 'save', state.source), 'error');
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
      showOutcome(describeFailure(error, 'save-selection', state.source), 'error');
      return;
    }
    if (folder === null) return; // the user cancelled the folder dialog
  }
  const controller = new AbortController();
  setBusy(controller);
  const what = paths.size === 1 ? '1 entry' : `${paths.size} entries`;
  const entries = state.select(paths, {
    signal: controller.signal,
    onProgress: (done, total) => showProgress(`${state.pass.label} to save ${what}`, done, total),
  });
  try {
    let where: string;
    if (folder !== null) {
      await saveIntoFolder(folder, entries);
      where = `into the folder ${folder.name}`;
    } else {
      const name = `${state.name}.zip`;
      const url = URL.createObjectURL(await zipOf(entries));
      state.urls.push(url);
      offerZip(url, name);
      where = `as ${name}`;
    }
    showOutcome(
      {
        title: 'Saved',
        message: `Saved ${what} ${where}: ${state.pass.verified}.`,
        hints: [],
      },
      'info',
    );
  } catch (error) {
    showOutcome(describeFailure(error, 'save-selection', state.source), 'error');
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

/** Shows another folder of the listing (docs/WEB.md "Browsing folders"); the selection stays. */
function moveTo(folder: string | undefined): void {
  if (folder === undefined || running !== null || !showFolder(folder)) return;
  updateSelection(null);
  focusFolder();
  navigation.visit(currentView());
}

/** What is on screen, as a history entry names it: never by a folder's name (docs/WEB.md "Back and Forward"). */
function currentView(): View {
  return { snapshot: opened?.snapshot ?? null, folder: shownFolderNumber() };
}

/** Back from a snapshot's listing to the snapshot list, as Close snapshot does. */
function showSnapshotList(): void {
  closeBackup();
  hideOutcome();
  element('repository-heading').focus();
}

/**
 * Shows the view of the history entry the page moved to (docs/WEB.md "Back and Forward"), adding
 * no entry. An entry that is not of the current opening (an earlier opening, a closed repository,
 * an earlier page load) shows the top view of what is open, the snapshot list or a backup's top
 * folder, and is made to name it; with nothing open, entries are ignored. While a pass runs the page
 * waits for it to end, then follows the entry it is on by then.
 */
function follow(state: unknown): void {
  if (running !== null) {
    popped = true;
    return;
  }
  if (!navigation.active) return;
  const named = navigation.viewOf(state);
  // The top view is the snapshot list or a backup's top folder: shown at once, no pass needed.
  const view = named ?? { snapshot: null, folder: repository !== null ? null : folderNumber('') };
  if (repository !== null && view.snapshot !== (opened?.snapshot ?? null)) {
    if (view.snapshot === null) showSnapshotList();
    else void openSnapshot(view.snapshot, view);
  } else if (view.folder !== null && view.folder !== shownFolderNumber() && showFolderNumber(view.folder)) {
    updateSelection(null);
    focusFolder();
  }
  if (named === null) navigation.replace(currentView());
}

function followPopped(): void {
  if (!popped || running !== null) return;
  popped = false;
  follow(history.state);
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
  folderInput.addEventListener('change', () => chooseFolder(folderOfInput(folderInput.files)));
  if (canPickFolder()) {
    // The folder dialog hands over the folder's own files; webkitdirectory would list every file
    // under it, in subfolders too.
    const picker = element<HTMLButtonElement>('repository-picker');
    folderInput.hidden = true;
    picker.hidden = false;
    picker.addEventListener('click', async () => {
      try {
        // First await of the click: the folder dialog needs the click's user activation.
        const folder = await pickFolderToRead();
        if (folder !== null) chooseFolder(folder);
      } catch (error) {
        showOutcome(describeFailure(error, 'open', 'repository'), 'error');
      }
    });
  }
  keyInput.addEventListener('input', () => {
    closeAll();
    showFieldError(keyInput, keyError, null);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void openChosen();
  });
  cancelButton.addEventListener('click', () => running?.abort());
  element('close-button').addEventListener('click', () => {
    const source = opened?.source;
    closeBackup();
    hideOutcome();
    if (source === 'repository') {
      element('repository-heading').focus();
      navigation.visit(currentView());
    } else fileInput.focus();
  });
  element('close-repository').addEventListener('click', () => {
    closeAll();
    hideOutcome();
    fileInput.focus();
  });
  element('snapshots').addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button.open-snapshot');
    if (button?.dataset.id !== undefined) void openSnapshot(button.dataset.id);
  });
  element('entries').addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button.save, button.folder-link');
    if (button === null) return;
    if (button.classList.contains('save')) void save(button);
    else moveTo(button.dataset.folder);
  });
  element('breadcrumb').addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button.crumb');
    if (button !== null) moveTo(button.dataset.folder);
  });
  element('entries').addEventListener('change', (event) => {
    const box = event.target as HTMLInputElement;
    if (box.classList.contains('select')) updateSelection(box);
  });
  element<HTMLInputElement>('select-all').addEventListener('change', (event) => {
    selectAll((event.target as HTMLInputElement).checked);
  });
  element('save-selected').addEventListener('click', () => void saveSelection());
  element('new-key-button').addEventListener('click', showNewKey);
  // Back and Forward (docs/WEB.md "Back and Forward"). The page draws each view itself, and focus
  // brings it into sight as after a click, so the browser's own scroll restoring would only jump.
  history.scrollRestoration = 'manual';
  addEventListener('popstate', (event) => follow(event.state));
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
