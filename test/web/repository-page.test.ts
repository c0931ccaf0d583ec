// The page opening a repository (src/web; docs/WEB.md "Opening a repository") in a real Chromium:
// a repository made by the SDK with two snapshots is chosen through the page's directory input
// (or its folder dialog), listed, browsed and restored from, with wrong key, damage and a folder
// that is no repository each told apart, at phone and desktop sizes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { BackupKey } from '../../src/format/key.ts';
import { serveWeb, type WebServer } from '../../src/web/serve.ts';
import { type Browser, buildPage, launchChromium } from './browser.ts';
import { sha256 } from './fixtures.ts';
import {
  goToFolder,
  historyState,
  layout,
  listedFolders,
  openPage as openTab,
  type PageOptions,
  pngWidth,
  privateFolderDigests,
  requestsElsewhere,
  SCREENSHOTS,
  saveSelected,
  shownFolder,
  travel,
} from './page-helpers.ts';
import {
  damagedRepository,
  makeDeepRepository,
  makeSampleRepository,
  placeOf,
  type SampleRepository,
} from './repository-fixture.ts';

let sample: SampleRepository;
let built: string;
let server: WebServer;
let browser: Browser;

before(async () => {
  browser = await launchChromium();
  built = await buildPage();
  server = await serveWeb({ host: '127.0.0.1', port: 0, root: built });
  sample = await makeSampleRepository();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await rm(built, { recursive: true, force: true });
  await rm(sample.dir, { recursive: true, force: true });
});

const openPage = (options: Partial<PageOptions> = {}) =>
  openTab(browser.context, { ...options, url: options.url ?? server.url });

/** Waits for the page to settle after an action: a list, a listing or an outcome shown. */
const settled = (page: Page) =>
  page.waitForSelector(
    '#repository:not([hidden]), #listing:not([hidden]), #outcome:not([hidden]), #key-error:not([hidden]), #file-error:not([hidden])',
  );

/** Chooses `folder` through the directory input, types `keyText`, presses Open. */
async function openFolder(page: Page, folder: string, keyText: string): Promise<void> {
  await page.setInputFiles('#repository-folder', folder);
  await page.fill('#backup-key', keyText);
  await page.click('#open-button');
  await settled(page);
}

/** Opens snapshot `index` (0: the oldest) from the list, and waits for its listing or an outcome. */
async function openSnapshot(page: Page, index: number): Promise<void> {
  await page.click(`button.open-snapshot[data-id="${sample.snapshots[index]!.id}"]`);
  await page.waitForSelector('#listing:not([hidden]), #outcome:not([hidden])');
}

/** The snapshot list as rows: full id, time, files, size in bytes. */
function snapshotRows(page: Page): Promise<string[][]> {
  return page.$$eval('#snapshots tr', (rows) =>
    (rows as HTMLTableRowElement[]).map((row) =>
      Array.from(row.cells, (cell, i) =>
        i === 0 ? cell.title : (cell.dataset.bytes ?? cell.textContent ?? ''),
      ),
    ),
  );
}

/** The folder shown as name, kind, size in bytes and modification time. */
function listedRows(page: Page): Promise<string[][]> {
  return page.$$eval('#entries tr', (rows) =>
    (rows as HTMLTableRowElement[]).map((row) =>
      Array.from(row.querySelectorAll('td.path, td.kind, td.size, td.modified'), (cell) =>
        (cell as HTMLElement).dataset.bytes === undefined
          ? (cell.textContent ?? '')
          : (cell as HTMLElement).dataset.bytes!,
      ),
    ),
  );
}

/** The whole snapshot, folder by folder as the page shows it (docs/WEB.md "Browsing folders"). */
const listedListing = (page: Page) => listedFolders(page, listedRows);

const DIRECTORIES = ['chat', 'chat/media'];
const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * What each folder of snapshot `index` shows: its folders first (sized by the files under them),
 * then its files, each group by name, with their times as the page shows them.
 */
async function expectedListing(index: number): Promise<Record<string, string[][]>> {
  const files = sample.files[index]!;
  const listing: Record<string, string[][]> = { '': [] };
  for (const dir of DIRECTORIES) listing[dir] = [];
  for (const dir of DIRECTORIES) {
    const under = [...files.values()].filter((file) => file.path.startsWith(`${dir}/`));
    const bytes = under.reduce((sum, file) => sum + file.size, 0);
    listing[parentOf(dir)]!.push([`${nameOf(dir)}/`, 'directory', String(bytes), await modified(index, dir)]);
  }
  for (const path of [...files.keys()].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1))) {
    listing[parentOf(path)]!.push([
      nameOf(path),
      'file',
      String(files.get(path)!.size),
      await modified(index, path),
    ]);
  }
  return listing;
}

/**
 * An entry's time as the page shows it: day one's in the first snapshot; in the second, the tree
 * on disk still is as it was backed up (day two wrote some files, and so a folder, at that time).
 */
async function modified(index: number, path: string): Promise<string> {
  const time =
    index === 0 ? sample.snapshots[0]!.time : (await stat(join(sample.dir, path))).mtime.toISOString();
  return time.slice(0, 19).replace('T', ' ');
}

/** The breadcrumb's folder names, the top folder first. */
function crumbs(page: Page): Promise<string[]> {
  return page.$$eval('#breadcrumb-list li', (items) => items.map((item) => item.textContent ?? ''));
}

/** How the Select box of `path` shows in the folder on screen. */
function boxState(page: Page, path: string): Promise<{ checked: boolean; indeterminate: boolean }> {
  return page.$eval(`input[aria-label=${JSON.stringify(`Select ${path}`)}]`, (box) => ({
    checked: (box as HTMLInputElement).checked,
    indeterminate: (box as HTMLInputElement).indeterminate,
  }));
}

/** Saves the listed file `path` through its Save button as a download; returns its SHA-256. */
async function download(page: Page, path: string): Promise<string> {
  await goToFolder(page, parentOf(path));
  const started = page.waitForEvent('download');
  await page.click(`button[aria-label="Save ${path}"]`);
  const saved = await started;
  assert.equal(saved.suggestedFilename(), path.split('/').pop());
  return sha256(await readFile(await saved.path()));
}

/** Copies the files of `dir` into the origin-private folder `name`; returns how many. */
async function copyIntoPrivateFolder(page: Page, dir: string, name: string): Promise<number> {
  const files: [string, string][] = [];
  for (const file of await readdir(dir)) {
    files.push([file, (await readFile(join(dir, file))).toString('base64')]);
  }
  await page.evaluate(
    async ([name, files]) => {
      const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, {
        create: true,
      });
      for (const [file, base64] of files) {
        const writable = await (await folder.getFileHandle(file, { create: true })).createWritable();
        await writable.write(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
        await writable.close();
      }
    },
    [name, files] as const,
  );
  return files.length;
}

/** Opens the repository the folder dialog answers with (`copyIntoPrivateFolder` filled it). */
async function openPickedFolder(page: Page, keyText: string): Promise<void> {
  await page.click('#repository-picker');
  await page.waitForFunction(() =>
    document.getElementById('file-summary')?.textContent?.startsWith('Repository folder'),
  );
  await page.fill('#backup-key', keyText);
  await page.click('#open-button');
  await settled(page);
}

const digest = (index: number, path: string) => sample.files[index]!.get(path)!.sha256;

/** The element that has keyboard focus, by its id or, for the breadcrumb's current folder, its folder. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const active = document.activeElement as HTMLElement | null;
    if (active?.getAttribute('aria-current') === 'location') return `folder ${active.dataset.folder}`;
    return active?.id ?? '';
  });
}

/**
 * What a history entry of the page may hold (docs/WEB.md "Back and Forward"): a random id of the
 * opening, the snapshot's id and a folder's number, nothing else; no name anywhere in it.
 */
function assertEntry(state: unknown, snapshot: string | null, folder: 'none' | 'some'): string {
  assert.equal(typeof state, 'object');
  const entry = state as Record<string, unknown>;
  assert.deepEqual(Object.keys(entry).sort(), ['folder', 'opening', 'snapshot']);
  assert.match(String(entry.opening), /^[0-9a-f]{32}$/);
  assert.equal(entry.snapshot, snapshot);
  if (folder === 'none') assert.equal(entry.folder, null);
  else assert.ok(Number.isSafeInteger(entry.folder), `folder ${String(entry.folder)} is a number`);
  for (const name of ['chat', 'media', 'messages', 'repository'])
    assert.ok(!JSON.stringify(entry).includes(name), `${name} is not in ${JSON.stringify(entry)}`);
  return String(entry.opening);
}

async function assertNothingListed(page: Page): Promise<void> {
  assert.equal(await page.isHidden('#listing'), true);
  assert.equal(await page.locator('#entries tr').count(), 0);
  assert.equal(
    await page.locator('a.download, button.save:not(.open-snapshot), button.folder-link').count(),
    0,
  );
}

describe('the page opening a repository in Chromium', () => {
  test('lists both snapshots, restores each day’s file byte for byte, and requests nothing elsewhere', async () => {
    const { page, requests, console } = await openPage();
    await openFolder(page, sample.folder, sample.key.format().toUpperCase().replaceAll(' ', '-'));
    assert.match(
      (await page.textContent('#repository-summary')) ?? '',
      /^Verified: .* 2 snapshots in repository\.$/,
    );
    const time = (i: number) => sample.snapshots[i]!.time.slice(0, 19).replace('T', ' ');
    // Newest first.
    assert.deepEqual(
      await snapshotRows(page),
      [1, 0].map((i) => [
        sample.snapshots[i]!.id,
        time(i),
        `${sample.snapshots[i]!.files} files`,
        String(sample.snapshots[i]!.size),
        'Open',
      ]),
    );
    assert.deepEqual([time(0), time(1)], ['2026-03-04 05:06:07', '2026-03-05 05:06:07']);

    await openSnapshot(page, 0);
    assert.deepEqual(await listedListing(page), await expectedListing(0));
    assert.match(
      (await page.textContent('#listing-heading')) ?? '',
      /^Snapshot [0-9a-f]{8}, 2026-03-04 05:06:07 UTC$/,
    );
    assert.equal(await download(page, 'chat/messages.txt'), digest(0, 'chat/messages.txt'));
    assert.equal(await page.textContent('#outcome-title'), 'Saved');

    await page.click('#close-button');
    assert.equal(await page.isHidden('#listing'), true);
    await openSnapshot(page, 1);
    assert.deepEqual(await listedListing(page), await expectedListing(1));
    assert.equal(await download(page, 'chat/messages.txt'), digest(1, 'chat/messages.txt'));
    assert.notEqual(digest(0, 'chat/messages.txt'), digest(1, 'chat/messages.txt'));
    assert.equal(await download(page, 'chat/media/second.bin'), digest(1, 'chat/media/second.bin'));
    // Back in chat, the verified copy of messages.txt is still offered where its Save button was.
    await goToFolder(page, 'chat');
    assert.deepEqual(await page.$$eval('#entries a.download', (links) => links.map((a) => a.textContent)), [
      'Download messages.txt',
    ]);
    assert.equal(await page.locator('button[aria-label="Save chat/messages.txt"]').count(), 0);

    assert.deepEqual(requestsElsewhere(requests, new URL(server.url).origin), []);
    assert.deepEqual(console, []);
    await page.close();
  });

  test('Back and Forward move between the snapshot list, a snapshot and its folders; the URL never changes', async () => {
    const { page, console } = await openPage();
    const url = page.url();
    await openFolder(page, sample.folder, sample.key.format());
    const entries = await page.evaluate(() => history.length);
    const opening = assertEntry(await historyState(page), null, 'none');
    await openSnapshot(page, 1);
    const id = sample.snapshots[1]!.id;
    const expected = await expectedListing(1);
    const top = `Snapshot ${id.slice(0, 8)}`;
    await page.click('button[aria-label="Open folder chat"]');
    await page.click('button[aria-label="Open folder chat/media"]');
    assert.deepEqual(await crumbs(page), [top, 'chat', 'media']);
    assert.equal(assertEntry(await historyState(page), id, 'some'), opening);
    assert.equal(await page.evaluate(() => history.length), entries + 3, 'one entry per view visited');

    // Back: the parent folder, then the snapshot's top folder, then the snapshot list.
    await travel(page, 'back');
    assert.equal(await shownFolder(page), 'chat');
    assert.deepEqual(await listedRows(page), expected.chat);
    assert.equal(await focused(page), 'folder chat', 'focused as after a click');
    await travel(page, 'back');
    assert.deepEqual(await crumbs(page), [top]);
    assert.deepEqual(await listedRows(page), expected['']);
    assert.equal(await focused(page), 'folder ');
    await travel(page, 'back');
    assert.equal(await page.isHidden('#listing'), true);
    assert.equal(await page.isVisible('#repository'), true);
    assert.equal(await page.locator('#snapshots tr').count(), 2);
    assert.equal(await focused(page), 'repository-heading');
    assertEntry(await historyState(page), null, 'none');

    // Forward re-enters the snapshot (its folders verified again) and goes down again.
    await travel(page, 'forward');
    assert.match((await page.textContent('#listing-heading')) ?? '', new RegExp(`^${top},`));
    assert.deepEqual(await listedRows(page), expected['']);
    assert.equal(await focused(page), 'listing-heading', 'focused as after pressing Open');
    await travel(page, 'forward');
    assert.deepEqual(await listedRows(page), expected.chat);
    await travel(page, 'forward');
    assert.deepEqual(await crumbs(page), [top, 'chat', 'media']);
    assert.deepEqual(await listedRows(page), expected['chat/media']);
    assert.equal(await focused(page), 'folder chat/media');
    assert.equal(await page.evaluate(() => history.length), entries + 3, 'following an entry adds none');

    // Close snapshot is a move too: Back from the list re-enters the snapshot where it was left.
    await page.click('#close-button');
    assert.equal(await page.isHidden('#listing'), true);
    await travel(page, 'back');
    assert.deepEqual(await crumbs(page), [top, 'chat', 'media']);
    assert.deepEqual(await listedRows(page), expected['chat/media']);
    assert.equal(await focused(page), 'folder chat/media');
    // Opening the other snapshot from there is one more move, and Back returns from it.
    await openSnapshot(page, 0);
    assert.deepEqual(await crumbs(page), [`Snapshot ${sample.snapshots[0]!.id.slice(0, 8)}`]);
    await travel(page, 'back');
    assert.deepEqual(await crumbs(page), [top, 'chat', 'media']);

    // Back from the first view of the opening leaves the page, as it would without it.
    for (const folder of ['chat', '']) {
      await travel(page, 'back');
      assert.equal(await shownFolder(page), folder);
    }
    await travel(page, 'back');
    assert.equal(await page.isHidden('#listing'), true);
    assert.equal(page.url(), url, 'the URL never changed');
    await page.goBack();
    assert.equal(page.url(), 'about:blank');
    assert.deepEqual(console, []);
    await page.close();
  });

  test('an entry of an earlier opening, of a closed repository or of an earlier page load is ignored', async () => {
    const { page, console } = await openPage();
    const url = page.url();
    await openFolder(page, sample.folder, sample.key.format());
    const first = assertEntry(await historyState(page), null, 'none');
    await openSnapshot(page, 1);
    await page.click('button[aria-label="Open folder chat"]');
    await travel(page, 'back');
    await travel(page, 'back');
    // The same repository opened again is a new opening: its entries ahead, which name a snapshot
    // and a folder this repository has, are not followed.
    await page.click('#open-button');
    await settled(page);
    const second = assertEntry(await historyState(page), null, 'none');
    assert.notEqual(second, first);
    for (let i = 0; i < 2; i++) {
      await travel(page, 'forward');
      assert.equal(await page.isHidden('#listing'), true, 'the snapshot list stays');
      assert.equal(await page.isVisible('#repository'), true);
      assert.equal(assertEntry(await historyState(page), null, 'none'), second, 'made to name what is shown');
    }
    // Within the new opening, Back and Forward work as ever.
    await openSnapshot(page, 0);
    await travel(page, 'back');
    assert.equal(await page.isHidden('#listing'), true);
    await travel(page, 'forward');
    assert.deepEqual(await crumbs(page), [`Snapshot ${sample.snapshots[0]!.id.slice(0, 8)}`]);

    // Closing the repository ends its navigation: its entries show nothing again.
    await page.click('button[aria-label="Open folder chat"]');
    await page.click('#close-button');
    await page.click('#close-repository');
    assert.equal(await historyState(page), null);
    await travel(page, 'back');
    assert.equal(await page.isHidden('#repository'), true);
    assert.equal(await page.isHidden('#listing'), true);

    // After a reload nothing is open; the entries the earlier page load made are ignored, and a
    // repository opened then is not entered through them either.
    await page.reload();
    await travel(page, 'back');
    assert.equal(await page.isHidden('#repository'), true);
    await openFolder(page, sample.folder, sample.key.format());
    await travel(page, 'forward');
    assert.equal(await page.isHidden('#listing'), true);
    assert.equal(await page.isVisible('#repository'), true);
    assert.notEqual(assertEntry(await historyState(page), null, 'none'), second);
    assert.equal(page.url(), url, 'the URL never changed');
    assert.deepEqual(console, []);
    await page.close();
  });

  test('Back pressed while a save runs waits for it: the save ends as started, then the page follows', async () => {
    const { page, folder, readFolder, console } = await openPage({ saving: 'picker' });
    await copyIntoPrivateFolder(page, sample.folder, readFolder);
    await openPickedFolder(page, sample.key.format());
    await openSnapshot(page, 1);
    await page.click('button[aria-label="Open folder chat"]');
    await page.click('button[aria-label="Open folder chat/media"]');
    await page.click('input[aria-label="Select chat/media/photo.bin"]');
    // The save's files are committed only when the test lets them, so Back lands mid-pass.
    await page.evaluate(() => {
      const held = window as unknown as { holding?: boolean; release?: () => void };
      const gate = new Promise<void>((resolve) => {
        held.release = resolve;
      });
      const close = FileSystemWritableFileStream.prototype.close;
      FileSystemWritableFileStream.prototype.close = async function (this: FileSystemWritableFileStream) {
        held.holding = true;
        await gate;
        return close.call(this);
      };
    });
    await page.click('#save-selected');
    await page.waitForFunction(() => (window as unknown as { holding?: boolean }).holding === true);
    await page.goBack();
    assert.equal(await shownFolder(page), 'chat/media', 'the folder stays while the save runs');
    await page.evaluate(() => (window as unknown as { release: () => void }).release());
    await page.waitForSelector('#outcome:not([hidden])');
    assert.equal(await page.textContent('#outcome-title'), 'Saved');
    await page.waitForFunction(
      () => document.querySelector('#breadcrumb-list [aria-current]')?.getAttribute('data-folder') === 'chat',
    );
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('data-folder')),
      'chat',
      'focused as after a click',
    );
    assert.deepEqual(await privateFolderDigests(page, folder), {
      'chat/': 'directory',
      'chat/media/': 'directory',
      'chat/media/photo.bin': digest(1, 'chat/media/photo.bin'),
    });
    assert.deepEqual(console, []);
    await page.close();
  });

  test('saves a folder as one zip that Info-ZIP checks', async () => {
    const { page } = await openPage();
    await openFolder(page, sample.folder, sample.key.format());
    await openSnapshot(page, 1);
    // The folder is picked inside its parent folder, as a user browsing to it would.
    await goToFolder(page, 'chat');
    await page.click('input[aria-label="Select chat/media"]');
    assert.equal(await page.textContent('#save-selected'), 'Save 4 entries');
    const started = page.waitForEvent('download');
    await page.click('#save-selected');
    const saved = await started;
    assert.equal(saved.suggestedFilename(), `snapshot-${sample.snapshots[1]!.id.slice(0, 8)}.zip`);
    assert.equal(await page.textContent('#outcome-title'), 'Saved');
    const zip = await saved.path();
    assert.match(execFileSync('unzip', ['-t', zip], { encoding: 'utf8' }), /No errors detected/);
    const names = ['chat/media/empty.bin', 'chat/media/photo.bin', 'chat/media/second.bin'];
    assert.deepEqual(execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n'), [
      'chat/media/',
      ...names,
    ]);
    for (const path of names)
      assert.equal(sha256(execFileSync('unzip', ['-p', zip, path])), digest(1, path), path);
    await page.close();
  });

  test('browses folder by folder: enters a nested folder and goes back up by the breadcrumb', async () => {
    const { page, console } = await openPage();
    await openFolder(page, sample.folder, sample.key.format());
    await openSnapshot(page, 1);
    const expected = await expectedListing(1);
    const top = `Snapshot ${sample.snapshots[1]!.id.slice(0, 8)}`;
    // The top folder shows only what is directly in it.
    assert.deepEqual(await listedRows(page), expected['']);
    assert.deepEqual(await crumbs(page), [top]);
    assert.equal(await page.textContent('#folder-summary'), 'In this folder: 1 folder, 0 files.');
    await page.click('button[aria-label="Open folder chat"]');
    assert.deepEqual(await listedRows(page), expected.chat);
    await page.click('button[aria-label="Open folder chat/media"]');
    assert.deepEqual(await listedRows(page), expected['chat/media']);
    assert.deepEqual(await crumbs(page), [top, 'chat', 'media']);
    assert.equal(await page.textContent('#folder-summary'), 'In this folder: 0 folders, 3 files.');
    // Focus follows to the folder's name in the breadcrumb, for keyboard and screen reader users.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-current')), 'location');
    // Up one level, then to the top, through the breadcrumb.
    await page.click('#breadcrumb button[aria-label="Go to folder chat"]');
    assert.deepEqual(await crumbs(page), [top, 'chat']);
    assert.deepEqual(await listedRows(page), expected.chat);
    await page.click(`#breadcrumb button[aria-label="Go to the top folder, ${top}"]`);
    assert.deepEqual(await crumbs(page), [top]);
    assert.deepEqual(await listedRows(page), expected['']);
    // Another snapshot opens at its top folder.
    await goToFolder(page, 'chat/media');
    await openSnapshot(page, 0);
    assert.deepEqual(await crumbs(page), [`Snapshot ${sample.snapshots[0]!.id.slice(0, 8)}`]);
    assert.deepEqual(console, []);
    await page.close();
  });

  test('a selection spans folders: a folder ticked in a subfolder and a file elsewhere save together into a picked folder', async () => {
    const { page, folder, readFolder } = await openPage({ saving: 'picker' });
    await copyIntoPrivateFolder(page, sample.folder, readFolder);
    await openPickedFolder(page, sample.key.format());
    await openSnapshot(page, 1);
    await goToFolder(page, 'chat');
    await page.click('input[aria-label="Select chat/media"]');
    assert.equal(await page.textContent('#save-selected'), 'Save 4 entries');
    // Inside the folder, everything it holds is ticked; one file is then left out.
    await goToFolder(page, 'chat/media');
    for (const name of ['empty.bin', 'photo.bin', 'second.bin'])
      assert.equal(await page.isChecked(`input[aria-label="Select chat/media/${name}"]`), true, name);
    await page.click('input[aria-label="Select chat/media/second.bin"]');
    // On the way back up, the folders above show a partial selection.
    await goToFolder(page, 'chat');
    assert.deepEqual(await boxState(page, 'chat/media'), { checked: false, indeterminate: true });
    await page.click('input[aria-label="Select chat/messages.txt"]');
    await goToFolder(page, '');
    assert.deepEqual(await boxState(page, 'chat'), { checked: false, indeterminate: true });
    assert.equal(
      await page.evaluate(() => (document.getElementById('select-all') as HTMLInputElement).indeterminate),
      true,
    );
    // chat/media, its two files still ticked, and chat/messages.txt.
    assert.equal(await page.textContent('#save-selected'), 'Save 4 entries');
    await saveSelected(page);
    assert.deepEqual(await privateFolderDigests(page, folder), {
      'chat/': 'directory',
      'chat/media/': 'directory',
      'chat/media/empty.bin': digest(1, 'chat/media/empty.bin'),
      'chat/media/photo.bin': digest(1, 'chat/media/photo.bin'),
      'chat/messages.txt': digest(1, 'chat/messages.txt'),
    });
    await page.close();
  });

  test('a deep tree with a folder of hundreds of files: one folder at a time, a deep folder saved as a zip, on a phone', async (t) => {
    const deep = await makeDeepRepository();
    try {
      const { page } = await openPage({ viewport: { width: 390, height: 844 } });
      await openFolder(page, deep.folder, deep.key.format());
      await page.click('button.open-snapshot');
      await page.waitForSelector('#listing:not([hidden])');
      assert.equal(await page.locator('#entries tr').count(), 1, 'the top folder holds only home');
      await goToFolder(page, 'home/ann');
      assert.deepEqual(
        (await listedRows(page)).map((row) => row[0]),
        ['photos/', 'projects/', 'notes.txt'],
        'folders first, then files',
      );
      await goToFolder(page, 'home/ann/photos');
      assert.equal(await page.locator('#entries tr').count(), deep.photos);
      assert.equal(await page.locator('#entries button.save').count(), deep.photos);
      const lib = `${deep.project}/src/lib`;
      await goToFolder(page, lib);
      assert.deepEqual(await crumbs(page), [`Snapshot ${deep.snapshot.id.slice(0, 8)}`, ...lib.split('/')]);
      const shown = await layout(page);
      assert.ok(shown.scrollWidth <= shown.viewportWidth, `${shown.scrollWidth} px wide`);
      for (const control of shown.controls) {
        assert.ok(
          control.left >= 0 && control.right <= shown.viewportWidth,
          `${control.name} is cut off: ${control.left}..${control.right}`,
        );
      }
      await mkdir(SCREENSHOTS, { recursive: true });
      const file = join(SCREENSHOTS, 'repository-deep-folder-phone.png');
      assert.equal(pngWidth(await page.screenshot({ path: file, fullPage: true })), 390);
      t.diagnostic(`screenshot: ${file}`);
      // Up to the project through the breadcrumb; its src folder is ticked there and saved.
      await page.click(`#breadcrumb button[aria-label="Go to folder ${deep.project}"]`);
      await page.click(`input[aria-label="Select ${deep.project}/src"]`);
      assert.equal(await page.textContent('#save-selected'), 'Save 5 entries');
      const started = page.waitForEvent('download');
      await page.click('#save-selected');
      const zip = await (await started).path();
      assert.equal(await page.textContent('#outcome-title'), 'Saved');
      assert.match(execFileSync('unzip', ['-t', zip], { encoding: 'utf8' }), /No errors detected/);
      const names = [
        `${deep.project}/src/lib/deep.bin`,
        `${deep.project}/src/lib/empty.txt`,
        `${deep.project}/src/main.ts`,
      ];
      assert.deepEqual(
        execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n').sort(),
        [`${deep.project}/src/`, `${deep.project}/src/lib/`, ...names].sort(),
      );
      for (const path of names)
        assert.equal(sha256(execFileSync('unzip', ['-p', zip, path])), deep.files.get(path)!.sha256, path);
      await page.close();
    } finally {
      await rm(deep.dir, { recursive: true, force: true });
    }
  });

  test('opens a folder chosen with the folder dialog and restores the whole snapshot into a picked folder', async () => {
    const { page, folder, readFolder } = await openPage({ saving: 'picker' });
    assert.equal(await page.isHidden('#repository-folder'), true, 'the dialog replaces the directory input');
    // The dialog answers with a folder of the origin-private file system holding the repository.
    const count = await copyIntoPrivateFolder(page, sample.folder, readFolder);
    await openPickedFolder(page, sample.key.format());
    assert.equal(await page.textContent('#file-summary'), `Repository folder ${readFolder}, ${count} files`);
    await openSnapshot(page, 1);
    await page.click('#select-all');
    await saveSelected(page);
    assert.match((await page.textContent('#outcome-message')) ?? '', /every chunk of it verified/);
    const expected: Record<string, string> = { 'chat/': 'directory', 'chat/media/': 'directory' };
    for (const [path, file] of sample.files[1]!) expected[path] = file.sha256;
    assert.deepEqual(await privateFolderDigests(page, folder), expected);
    await page.close();
  });

  test('a whole-snapshot save into a picked folder that meets a damaged chunk leaves the folder empty', async () => {
    const chunk = await placeOf(sample, sample.snapshots[0]!, { chunkOf: 'chat/media/photo.bin' });
    const damaged = await damagedRepository(sample, chunk, join(sample.dir, 'damaged-for-folder'));
    const { page, folder, readFolder } = await openPage({ saving: 'picker' });
    await copyIntoPrivateFolder(page, damaged, readFolder);
    await openPickedFolder(page, sample.key.format());
    await openSnapshot(page, 1);
    await page.click('#select-all');
    await page.click('#save-selected');
    await page.waitForSelector('#outcome:not([hidden])');
    assert.equal(await page.textContent('#outcome-title'), 'Damaged repository');
    // chat/media/empty.bin, written before photo.bin failed, was removed with its folders.
    assert.deepEqual(await privateFolderDigests(page, folder), {});
    await page.close();
  });

  test('a wrong key says so, not damage, and lists nothing', async () => {
    const { page } = await openPage();
    await openFolder(page, sample.folder, BackupKey.generate(nodeCrypto.randomBytes).format());
    assert.equal(await page.textContent('#outcome-title'), 'Wrong key');
    assert.match((await page.textContent('#outcome-message')) ?? '', /does not open this repository/);
    assert.equal(await page.isHidden('#repository'), true);
    await assertNothingListed(page);
    // The right key then opens it.
    await page.fill('#backup-key', sample.key.format());
    await page.click('#open-button');
    await page.waitForSelector('#repository:not([hidden])');
    assert.equal(await page.locator('#snapshots tr').count(), 2);
    await page.close();
  });

  test('a damaged pack is named: the file it holds is not saved, the rest still browses and saves', async () => {
    const chunk = await placeOf(sample, sample.snapshots[0]!, { chunkOf: 'chat/media/photo.bin' });
    const folder = await damagedRepository(sample, chunk, join(sample.dir, 'damaged-chunk'));
    const { page } = await openPage();
    await openFolder(page, folder, sample.key.format());
    // photo.bin did not change on day two: the newer snapshot uses the same damaged chunk.
    await openSnapshot(page, 1);
    await goToFolder(page, 'chat/media');
    await page.click('button[aria-label="Save chat/media/photo.bin"]');
    await page.waitForSelector('#outcome:not([hidden])');
    assert.equal(await page.textContent('#outcome-title'), 'Damaged repository');
    assert.match(
      (await page.textContent('#outcome-message')) ?? '',
      new RegExp(`in pack ${chunk.pack} is damaged`),
    );
    assert.match(
      (await page.textContent('#outcome-hints')) ?? '',
      /Nothing was saved; the rest of the snapshot can still be browsed/,
    );
    assert.equal(await page.locator('a.download').count(), 0);
    assert.equal(await page.isVisible('#listing'), true, 'the listing stays');
    assert.equal(await download(page, 'chat/messages.txt'), digest(1, 'chat/messages.txt'));
    await page.close();
  });

  test("a damaged pack holding a snapshot's folder fails that snapshot only", async () => {
    const tree = await placeOf(sample, sample.snapshots[0]!, 'root tree');
    const folder = await damagedRepository(sample, tree, join(sample.dir, 'damaged-tree'));
    const { page } = await openPage();
    await openFolder(page, folder, sample.key.format());
    await openSnapshot(page, 0);
    assert.equal(await page.textContent('#outcome-title'), 'Damaged repository');
    assert.match(
      (await page.textContent('#outcome-message')) ?? '',
      new RegExp(`in pack ${tree.pack} is damaged`),
    );
    await assertNothingListed(page);
    await openSnapshot(page, 1);
    assert.deepEqual(await listedListing(page), await expectedListing(1));
    await page.close();
  });

  test('a folder that holds no repository is named as such', async () => {
    const folder = join(sample.dir, 'photos');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'notes.txt'), 'not a repository\n');
    const { page } = await openPage();
    await openFolder(page, folder, sample.key.format());
    assert.equal(await page.textContent('#outcome-title'), 'Not a Strongroom repository');
    assert.match((await page.textContent('#outcome-message')) ?? '', /photos is not a Strongroom repository/);
    await page.close();
  });

  for (const [size, viewport] of [
    ['phone', { width: 390, height: 844 }],
    ['desktop', { width: 1280, height: 800 }],
  ] as const) {
    test(`fits a ${size} screen (${viewport.width}×${viewport.height}): the snapshot list and a snapshot's listing`, async (t) => {
      const { page } = await openPage({ viewport });
      await openFolder(page, sample.folder, sample.key.format());
      await mkdir(SCREENSHOTS, { recursive: true });
      // The snapshot list, then each folder of the newer snapshot: the deepest has the longest breadcrumb.
      const stages = [
        ['snapshots', null],
        ...['', 'chat', 'chat/media'].map((f) => [`listing-${f}`, f]),
      ] as const;
      for (const [stage, folder] of stages as readonly (readonly [string, string | null])[]) {
        if (folder === '') await openSnapshot(page, 1);
        if (folder !== null) await goToFolder(page, folder);
        const shown = await layout(page);
        assert.ok(
          shown.scrollWidth <= shown.viewportWidth,
          `${stage}: ${shown.scrollWidth} px wide in ${shown.viewportWidth}`,
        );
        const names = shown.controls.map((control) => control.name);
        for (const control of shown.controls) {
          assert.ok(
            control.left >= 0 && control.right <= shown.viewportWidth,
            `${stage}: ${control.name} is cut off: ${control.left}..${control.right} of ${shown.viewportWidth} px`,
          );
        }
        assert.equal(names.filter((name) => name?.startsWith('Open snapshot')).length, 2, stage);
        if (folder !== null) {
          const files = [...sample.files[1]!.keys()].filter((path) => parentOf(path) === folder);
          const dirs = DIRECTORIES.filter((path) => parentOf(path) === folder);
          for (const path of files) assert.ok(names.includes(`Save ${path}`), `Save ${path} is shown`);
          for (const path of [...files, ...dirs])
            assert.ok(names.includes(`Select ${path}`), `Select ${path} is shown`);
          for (const path of dirs)
            assert.ok(names.includes(`Open folder ${path}`), `Open folder ${path} is shown`);
          assert.equal(shown.paths.length, files.length + dirs.length, stage);
          for (const path of shown.paths)
            assert.equal(path.lines, 1, `${path.text} is drawn on ${path.lines} lines`);
        }
        const file = join(
          SCREENSHOTS,
          `repository-${stage.replaceAll('/', '-').replace(/-$/, '')}-${size}.png`,
        );
        assert.equal(pngWidth(await page.screenshot({ path: file, fullPage: true })), viewport.width);
        t.diagnostic(`screenshot: ${file}`);
      }
      await page.close();
    });
  }
});
