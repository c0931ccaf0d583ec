// The backup opener page (src/web; docs/WEB.md) in a real Chromium: a backup made by the SDK is
// opened through the page's own controls, served by src/web/serve.ts on loopback and from file://.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { HEADER_LENGTH } from '../../src/format/header.ts';
import { BackupKey } from '../../src/format/key.ts';
import { encryptStream, TAG_LENGTH } from '../../src/format/stream.ts';
import { serveWeb, type WebServer } from '../../src/web/serve.ts';
import { type Browser, buildPage, launchChromium } from './browser.ts';
import { CHUNK_SIZE, damagedCopy, makeSampleBackup, type SampleBackup, sha256 } from './fixtures.ts';
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

let sample: SampleBackup;
let built: string;
let server: WebServer;
let browser: Browser;

before(async () => {
  browser = await launchChromium();
  built = await buildPage();
  server = await serveWeb({ host: '127.0.0.1', port: 0, root: built });
  sample = await makeSampleBackup({ compress: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await rm(built, { recursive: true, force: true });
  await rm(sample.dir, { recursive: true, force: true });
});

/** A fresh tab on the page served over HTTP (or at `options.url`). */
const openPage = (options: Partial<PageOptions> = {}) =>
  openTab(browser.context, { ...options, url: options.url ?? server.url });

/** Chooses `file`, types `keyText`, presses Open and waits for a listing or an outcome. */
async function open(page: Page, file: string, keyText: string): Promise<void> {
  await page.setInputFiles('#backup-file', file);
  await page.fill('#backup-key', keyText);
  await page.click('#open-button');
  await page.waitForSelector('#listing:not([hidden]), #outcome:not([hidden]), #key-error:not([hidden])');
}

/** The folder shown as rows of cell texts (sizes as exact byte counts). */
function listedRows(page: Page): Promise<string[][]> {
  return page.$$eval('#entries tr', (rows) =>
    (rows as HTMLTableRowElement[]).map((row) =>
      Array.from(row.cells, (cell) => cell.dataset.bytes ?? cell.textContent ?? ''),
    ),
  );
}

/** The whole listing, folder by folder as the page shows it (docs/WEB.md "Browsing folders"). */
const listedListing = (page: Page) => listedFolders(page, listedRows);

/**
 * What each folder of the sample shows: its folders first (named with a slash, sized by the files
 * under them), then its other entries, each group by name.
 */
function expectedRows(): Record<string, string[][]> {
  const parent = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
  const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const bytesUnder = (dir: string) =>
    sample.entries
      .filter((entry) => entry.path.startsWith(`${dir}/`))
      .reduce((sum, entry) => sum + (entry.size ?? 0), 0);
  const folders: Record<string, string[][]> = { '': [] };
  for (const entry of sample.entries) if (entry.kind === 'directory') folders[entry.path] = [];
  const byName = (a: { path: string }, b: { path: string }) => (name(a.path) < name(b.path) ? -1 : 1);
  const dirs = sample.entries.filter((entry) => entry.kind === 'directory').sort(byName);
  const others = sample.entries.filter((entry) => entry.kind !== 'directory').sort(byName);
  for (const entry of dirs) {
    folders[parent(entry.path)]!.push([
      '',
      `${name(entry.path)}/`,
      'directory',
      String(bytesUnder(entry.path)),
      entry.modified,
      '',
    ]);
  }
  for (const entry of others) {
    folders[parent(entry.path)]!.push([
      '',
      name(entry.path),
      entry.kind === 'symbolic link' ? 'symbolic link → media/photo.bin' : entry.kind,
      entry.size === undefined ? '' : String(entry.size),
      entry.modified,
      entry.kind === 'file' ? 'Save' : '',
    ]);
  }
  return folders;
}

/** The key as a person might paste it: upper case, dashes between groups. */
const messyKey = () => sample.key.format().toUpperCase().replaceAll(' ', '-');

const digestOf = (path: string) => sample.entries.find((entry) => entry.path === path)!.sha256!;

async function assertNothingOffered(page: Page): Promise<void> {
  assert.equal(await page.isHidden('#listing'), true);
  assert.equal(await page.locator('#entries tr').count(), 0);
  assert.equal(await page.locator('a.download, button.save, button.folder-link').count(), 0);
}

describe('the backup opener page in Chromium', () => {
  test('lists a backup, saves a verified file, and requests nothing but its own files', async () => {
    const { page, requests, console } = await openPage();
    await open(page, sample.file, messyKey());
    assert.match(
      (await page.textContent('#listing-summary')) ?? '',
      /^Verified: .* 6 entries: 3 files \(.*\), 2 directories, 1 symbolic link\.$/,
    );
    assert.deepEqual(await listedListing(page), expectedRows());

    await goToFolder(page, 'chat/media');
    const download = page.waitForEvent('download');
    await page.click('button[aria-label="Save chat/media/photo.bin"]');
    const saved = await download;
    assert.equal(saved.suggestedFilename(), 'photo.bin');
    const photo = sample.entries.find((e) => e.path === 'chat/media/photo.bin')!;
    assert.equal(sha256(await readFile(await saved.path())), photo.sha256);
    assert.equal(await page.textContent('#outcome-title'), 'Saved');

    assert.deepEqual(requestsElsewhere(requests, new URL(server.url).origin), []);
    assert.deepEqual(console, []);
    await page.close();
  });

  test('saves through the file system API when the browser has it (constant memory)', async () => {
    const { page } = await openPage({ saving: 'picker' });
    await open(page, sample.file, sample.key.format());
    await goToFolder(page, 'chat');
    await page.click('button[aria-label="Save chat/messages.txt"]');
    await page.waitForSelector('#outcome:not([hidden])');
    assert.equal(await page.textContent('#outcome-title'), 'Saved');
    const digest = await page.evaluate(async () => {
      const file = await (
        await (await navigator.storage.getDirectory()).getFileHandle('messages.txt')
      ).getFile();
      const hash = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
      return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, '0')).join('');
    });
    assert.equal(digest, sample.entries.find((e) => e.path === 'chat/messages.txt')!.sha256);
    await page.close();
  });

  test('a wrong key and a damaged or truncated backup each say so, and show nothing', async () => {
    const damaged = await damagedCopy(sample.file, -2, join(sample.dir, 'damaged-tail.srb'));
    const whole = await readFile(sample.file);
    const truncated = join(sample.dir, 'cut.srb');
    // Cut after chunk 1: the rest reads as a stream whose final chunk is missing.
    await writeFile(truncated, whole.subarray(0, HEADER_LENGTH + 2 * (CHUNK_SIZE + TAG_LENGTH)));
    const { page } = await openPage();

    await open(page, sample.file, BackupKey.parse('0123'.repeat(16)).format());
    assert.equal(await page.textContent('#outcome-title'), 'Wrong key');
    assert.match((await page.textContent('#outcome-message')) ?? '', /made with a different key/);
    await assertNothingOffered(page);

    // The final chunk is the one damaged: every entry was parsed before it failed, none is shown.
    await open(page, damaged, sample.key.format());
    assert.equal(await page.textContent('#outcome-title'), 'Damaged or forged backup');
    assert.match((await page.textContent('#outcome-message')) ?? '', /failed to decrypt and authenticate/);
    await assertNothingOffered(page);

    await open(page, truncated, sample.key.format());
    assert.equal(await page.textContent('#outcome-title'), 'Damaged or forged backup');
    assert.match((await page.textContent('#outcome-message')) ?? '', /truncated/);
    await assertNothingOffered(page);

    // The page recovers: the intact backup then opens.
    await open(page, sample.file, sample.key.format());
    assert.equal(await page.isHidden('#outcome'), true);
    assert.deepEqual(await listedListing(page), expectedRows());
    await page.close();
  });

  test('a file replaced after opening is not saved: the pass fails and the sink is discarded', async () => {
    const copy = join(sample.dir, 'replaced.srb');
    await writeFile(copy, await readFile(sample.file));
    for (const saving of ['blob', 'picker'] as const) {
      await writeFile(copy, await readFile(sample.file));
      const { page } = await openPage({ saving });
      await open(page, copy, sample.key.format());
      await damagedCopy(sample.file, -2, copy);
      await goToFolder(page, 'chat/media');
      await page.click('button[aria-label="Save chat/media/photo.bin"]');
      await page.waitForSelector('#outcome:not([hidden])');
      // Chromium notices that the chosen file changed on disk and refuses to read it further.
      assert.equal(
        await page.textContent('#outcome-title'),
        'Could not read the file',
        `${saving}: ${await page.textContent('#outcome-message')}`,
      );
      assert.equal(await page.locator('a.download').count(), 0, saving);
      if (saving === 'picker') {
        const size = await page.evaluate(
          async () =>
            (await (await (await navigator.storage.getDirectory()).getFileHandle('photo.bin')).getFile())
              .size,
        );
        assert.equal(size, 0, 'the chosen file keeps nothing of an unverified pass');
      }
      await page.close();
    }
  });

  test('a malformed key gets the same messages as the CLI, and nothing is read', async () => {
    const { page } = await openPage();
    await open(page, sample.file, sample.key.format().slice(0, -1));
    assert.match((await page.textContent('#key-error')) ?? '', /63 hex digits, expected 64/);
    assert.equal(await page.getAttribute('#backup-key', 'aria-invalid'), 'true');
    await page.fill('#backup-key', '0123 4567 89ab cdeg');
    await page.click('#open-button');
    assert.match((await page.textContent('#key-error')) ?? '', /'g' at position 19 is not a hex digit/);
    assert.equal(await page.isHidden('#progress-section'), true);
    await assertNothingOffered(page);
    await page.close();
  });

  test('a file dropped on the page is opened like a chosen one', async () => {
    const { page } = await openPage();
    const bytes = await readFile(sample.file);
    const dataTransfer = await page.evaluateHandle((base64) => {
      const file = new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'dropped.srb');
      const transfer = new DataTransfer();
      transfer.items.add(file);
      return transfer;
    }, bytes.toString('base64'));
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer });
    assert.match((await page.textContent('#file-summary')) ?? '', /^dropped\.srb, /);
    await page.keyboard.type(sample.key.format());
    await page.keyboard.press('Enter');
    await page.waitForSelector('#listing:not([hidden])');
    assert.deepEqual(await listedListing(page), expectedRows());
    await page.close();
  });

  for (const [size, viewport] of [
    ['phone', { width: 390, height: 844 }],
    ['desktop', { width: 1280, height: 800 }],
  ] as const) {
    test(`fits a ${size} screen (${viewport.width}×${viewport.height}): no sideways scrolling, every control on screen`, async (t) => {
      const { page } = await openPage({ viewport });
      assert.equal(
        await page.getAttribute('#backup-key', 'type'),
        'password',
        'the key is masked by default',
      );
      await open(page, sample.file, sample.key.format());
      await goToFolder(page, 'chat');
      await page.click('input[aria-label="Select chat/media"]');
      await mkdir(SCREENSHOTS, { recursive: true });
      // Each folder in turn, the deepest with its breadcrumb the longest.
      let pathsDrawn = 0;
      for (const folder of ['', 'chat', 'chat/media']) {
        await goToFolder(page, folder);
        const shown = await layout(page);
        assert.equal(shown.viewportWidth, viewport.width);
        assert.ok(
          shown.scrollWidth <= shown.viewportWidth,
          `${folder}: the page scrolls sideways: ${shown.scrollWidth} px wide in a ${shown.viewportWidth} px window`,
        );
        const names = shown.controls.map((control) => control.name);
        const here = sample.entries.filter(
          (e) => e.path.slice(0, Math.max(0, e.path.lastIndexOf('/'))) === folder,
        );
        assert.ok(here.length > 0, folder);
        for (const entry of here.filter((e) => e.kind !== 'symbolic link')) {
          assert.ok(names.includes(`Select ${entry.path}`), `Select ${entry.path} is shown`);
          if (entry.kind === 'file')
            assert.ok(names.includes(`Save ${entry.path}`), `Save ${entry.path} is shown`);
          else assert.ok(names.includes(`Open folder ${entry.path}`), `Open folder ${entry.path} is shown`);
        }
        if (folder !== '')
          assert.ok(
            names.some((name) => name?.startsWith('Go to the top folder')),
            `${folder}: the breadcrumb leads back up`,
          );
        for (const control of shown.controls) {
          assert.ok(
            control.left >= 0 && control.right <= shown.viewportWidth,
            `${folder}: ${control.name} is cut off: ${control.left}..${control.right} of ${shown.viewportWidth} px`,
          );
        }
        // Every sample name is short enough for one line at either size: none is broken up.
        assert.equal(shown.paths.length, here.length, folder);
        pathsDrawn += shown.paths.length;
        for (const path of shown.paths)
          assert.equal(path.lines, 1, `${path.text} is drawn on ${path.lines} lines`);

        const file = join(
          SCREENSHOTS,
          `listing-${size}${folder === '' ? '' : `-${folder.replaceAll('/', '-')}`}.png`,
        );
        const png = await page.screenshot({ path: file, fullPage: true });
        // A full-page screenshot is as wide as the page's content: wider would mean overflow.
        assert.equal(pngWidth(png), viewport.width);
        t.diagnostic(`screenshot: ${file}`);
      }
      assert.equal(pathsDrawn, sample.entries.length, 'every entry is drawn in its folder');
      await page.close();
    });
  }

  test('a strongroom encrypt file fits a phone screen too: one row, Save on screen, no Select', async () => {
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    async function* plaintext() {
      yield nodeCrypto.randomBytes(3 * CHUNK_SIZE + 5);
    }
    const pieces: Uint8Array[] = [];
    for await (const piece of encryptStream(plaintext(), key, { crypto: nodeCrypto, chunkSize: CHUNK_SIZE }))
      pieces.push(piece);
    const file = join(sample.dir, 'a-rather-long-file-name-for-a-phone-screen-chat-export-2026.txt.srb');
    await writeFile(file, Buffer.concat(pieces));
    const { page } = await openPage({ viewport: { width: 390, height: 844 } });
    await open(page, file, key.format());
    const shown = await layout(page);
    assert.ok(shown.scrollWidth <= shown.viewportWidth, `${shown.scrollWidth} px wide`);
    const save = shown.controls.find((control) => control.name?.startsWith('Save a-rather-long'));
    assert.ok(save !== undefined && save.right <= shown.viewportWidth, JSON.stringify(save));
    assert.equal(shown.controls.filter((control) => control.name?.startsWith('Select')).length, 0);
    assert.equal(await page.isHidden('#selection-bar'), true);
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'single-file-phone.png'), fullPage: true });
    await page.close();
  });

  test('the key field is masked, and Show / Hide reveal and mask it again', async () => {
    const { page } = await openPage();
    assert.equal(await page.getAttribute('#backup-key', 'type'), 'password');
    await page.fill('#backup-key', sample.key.format());
    await page.click('#key-toggle');
    assert.equal(await page.getAttribute('#backup-key', 'type'), 'text');
    assert.equal(await page.getAttribute('#key-toggle', 'aria-pressed'), 'true');
    assert.equal(await page.textContent('#key-toggle'), 'Hide');
    assert.equal(await page.inputValue('#backup-key'), sample.key.format());
    await page.click('#key-toggle');
    assert.equal(await page.getAttribute('#backup-key', 'type'), 'password');
    assert.equal(await page.getAttribute('#key-toggle', 'aria-pressed'), 'false');
    assert.equal(await page.textContent('#key-toggle'), 'Show');
    await page.close();
  });

  test('a file that is not a backup is named as such, not as a truncated or damaged backup', async () => {
    const text = join(sample.dir, 'notes.txt');
    await writeFile(text, 'just some notes, not a backup\n');
    const empty = join(sample.dir, 'empty.srb');
    await writeFile(empty, '');
    const large = join(sample.dir, 'photo.jpg');
    await writeFile(large, Buffer.alloc(200_000, 0xff));
    const { page } = await openPage();
    for (const file of [text, empty, large]) {
      await open(page, file, sample.key.format());
      assert.equal(await page.textContent('#outcome-title'), 'Not a Strongroom backup', file);
      assert.match((await page.textContent('#outcome-message')) ?? '', /This is not a Strongroom backup/);
      await assertNothingOffered(page);
    }
    await page.close();
  });

  test('saves a selected folder as one zip in one pass when the browser cannot write folders', async () => {
    const { page } = await openPage();
    await open(page, sample.file, sample.key.format());
    await goToFolder(page, 'chat');
    await page.click('input[aria-label="Select chat/media"]');
    assert.equal(await page.isChecked('input[aria-label="Select chat/messages.txt"]'), false);
    // Selecting a directory selects what it holds, shown once inside it.
    await goToFolder(page, 'chat/media');
    assert.equal(await page.isChecked('input[aria-label="Select chat/media/photo.bin"]'), true);
    assert.equal(await page.isChecked('input[aria-label="Select chat/media/empty.bin"]'), true);
    assert.equal(await page.textContent('#save-selected'), 'Save 3 entries');
    const download = page.waitForEvent('download');
    await page.click('#save-selected');
    const saved = await download;
    assert.equal(
      saved.suggestedFilename(),
      `${sample.file
        .split('/')
        .pop()!
        .replace(/\.srb$/, '')}.zip`,
    );
    assert.equal(await page.textContent('#outcome-title'), 'Saved');
    const zip = await saved.path();
    // Info-ZIP's unzip checks the archive and every CRC independently of client-zip.
    assert.match(execFileSync('unzip', ['-t', zip], { encoding: 'utf8' }), /No errors detected/);
    assert.deepEqual(execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n'), [
      'chat/media/',
      'chat/media/empty.bin',
      'chat/media/photo.bin',
    ]);
    for (const path of ['chat/media/empty.bin', 'chat/media/photo.bin']) {
      assert.equal(sha256(execFileSync('unzip', ['-p', zip, path])), digestOf(path), path);
    }
    await page.close();
  });

  test('saves a whole selection into a picked folder in one pass (File System Access API)', async () => {
    const { page, folder } = await openPage({ saving: 'picker' });
    await open(page, sample.file, sample.key.format());
    await page.click('#select-all');
    assert.equal(await page.textContent('#save-selected'), 'Save 5 entries');
    await saveSelected(page);
    assert.deepEqual(await privateFolderDigests(page, folder), {
      'chat/': 'directory',
      'chat/media/': 'directory',
      'chat/media/empty.bin': digestOf('chat/media/empty.bin'),
      'chat/media/photo.bin': digestOf('chat/media/photo.bin'),
      'chat/messages.txt': digestOf('chat/messages.txt'),
    });
    await page.close();
  });

  test('a folder save that fails part way removes everything it created and keeps what was there', async () => {
    const { page, folder } = await openPage({ saving: 'picker' });
    // Already in the picked folder: chat/keep.txt, and a directory where chat/messages.txt goes,
    // so the save fails at that last entry, after chat/media and its two files were written.
    await page.evaluate(async (name) => {
      const picked = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, {
        create: true,
      });
      const chat = await picked.getDirectoryHandle('chat', { create: true });
      await chat.getDirectoryHandle('messages.txt', { create: true });
      const keep = await (await chat.getFileHandle('keep.txt', { create: true })).createWritable();
      await keep.write('kept');
      await keep.close();
    }, folder);
    const before = await privateFolderDigests(page, folder);
    assert.equal(Object.keys(before).length, 3);
    await open(page, sample.file, sample.key.format());
    await page.click('#select-all');
    await page.click('#save-selected');
    await page.waitForSelector('#outcome:not([hidden])');
    assert.equal(await page.textContent('#outcome-title'), 'Could not save the selection');
    assert.deepEqual(await privateFolderDigests(page, folder), before);
    await page.close();
  });

  test('a selection from a file replaced after opening is not saved: no zip, the folder left empty', async () => {
    const copy = join(sample.dir, 'replaced-selection.srb');
    for (const saving of ['blob', 'picker'] as const) {
      await writeFile(copy, await readFile(sample.file));
      const { page, folder } = await openPage({ saving });
      await open(page, copy, sample.key.format());
      await damagedCopy(sample.file, -2, copy);
      await page.click('#select-all');
      await page.click('#save-selected');
      await page.waitForSelector('#outcome:not([hidden])');
      assert.equal(await page.textContent('#outcome-title'), 'Could not read the file', saving);
      assert.equal(await page.locator('a.download').count(), 0, saving);
      if (saving === 'picker') assert.deepEqual(await privateFolderDigests(page, folder), {});
      await page.close();
    }
  });

  test('New key shows a fresh key as 16 groups of 4 hex digits', async () => {
    const { page } = await openPage();
    await page.click('#new-key-button');
    const first = (await page.textContent('#new-key')) ?? '';
    await page.click('#new-key-button');
    const second = (await page.textContent('#new-key')) ?? '';
    for (const shown of [first, second]) {
      assert.match(shown, /^[0-9a-f]{4}( [0-9a-f]{4}){15}$/);
      assert.equal(BackupKey.parse(shown).format(), shown);
    }
    assert.notEqual(first, second);
    await page.close();
  });

  test('works from file:// under its own Content-Security-Policy', async () => {
    const { page, console } = await openPage({ url: pathToFileURL(join(built, 'index.html')).href });
    await open(page, sample.file, sample.key.format());
    assert.deepEqual(await listedListing(page), expectedRows());
    assert.deepEqual(console, []);
    await page.close();
  });

  test("Back and Forward move between a backup's folders from file://, the address unchanged", async () => {
    const { page, console } = await openPage({ url: pathToFileURL(join(built, 'index.html')).href });
    const url = page.url();
    await open(page, sample.file, sample.key.format());
    const expected = expectedRows();
    await page.click('button[aria-label="Open folder chat"]');
    await page.click('button[aria-label="Open folder chat/media"]');
    const state = await historyState(page);
    assert.deepEqual(Object.keys(state as object).sort(), ['folder', 'opening', 'snapshot']);
    assert.ok(!JSON.stringify(state).includes('chat'), JSON.stringify(state));
    await travel(page, 'back');
    assert.equal(await shownFolder(page), 'chat');
    assert.deepEqual(await listedRows(page), expected.chat);
    await travel(page, 'back');
    assert.equal(await shownFolder(page), '');
    assert.deepEqual(await listedRows(page), expected['']);
    await travel(page, 'forward');
    await travel(page, 'forward');
    assert.equal(await shownFolder(page), 'chat/media');
    assert.deepEqual(await listedRows(page), expected['chat/media']);
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('data-folder')),
      'chat/media',
      'focused as after a click',
    );
    // Closing the backup ends its navigation: its entries show nothing, and the page stays.
    await page.click('#close-button');
    assert.equal(await historyState(page), null);
    await travel(page, 'back');
    assert.equal(await page.isHidden('#listing'), true);
    assert.equal(page.url(), url);
    assert.deepEqual(console, []);
    await page.close();
  });
});
