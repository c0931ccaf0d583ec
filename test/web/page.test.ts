// The backup opener page (src/web; docs/WEB.md) in a real Chromium: a backup made by the SDK is
// opened through the page's own controls, served by src/web/serve.ts on loopback and from file://.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { HEADER_LENGTH } from '../../src/format/header.ts';
import { BackupKey } from '../../src/format/key.ts';
import { TAG_LENGTH } from '../../src/format/stream.ts';
import { serveWeb, type WebServer } from '../../src/web/serve.ts';
import { type Browser, buildPage, launchChromium } from './browser.ts';
import { CHUNK_SIZE, damagedCopy, makeSampleBackup, type SampleBackup, sha256 } from './fixtures.ts';

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

/** A fresh tab on the page, recording every request it makes and every console line. */
async function openPage(
  options: { url?: string; saving?: 'blob' | 'picker' } = {},
): Promise<{ page: Page; requests: string[]; console: string[] }> {
  const page = await browser.context.newPage();
  const requests: string[] = [];
  const console: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => console.push(message.text()));
  page.on('pageerror', (error) => console.push(`page error: ${error.message}`));
  if ((options.saving ?? 'blob') === 'blob') {
    // Headless Chromium has the save dialog but nobody to answer it: take the Blob path.
    await page.addInitScript(() => {
      delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
    });
  } else {
    // The dialog cannot be answered here, so it is replaced by a handle in the origin-private file
    // system: a real FileSystemFileHandle whose writable has the same swap-then-commit behaviour.
    await page.addInitScript(() => {
      (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async (options: {
        suggestedName: string;
      }) => (await navigator.storage.getDirectory()).getFileHandle(options.suggestedName, { create: true });
    });
  }
  await page.goto(options.url ?? server.url);
  return { page, requests, console };
}

/** Chooses `file`, types `keyText`, presses Open and waits for a listing or an outcome. */
async function open(page: Page, file: string, keyText: string): Promise<void> {
  await page.setInputFiles('#backup-file', file);
  await page.fill('#backup-key', keyText);
  await page.click('#open-button');
  await page.waitForSelector('#listing:not([hidden]), #outcome:not([hidden]), #key-error:not([hidden])');
}

/** The listing as rows of cell texts (sizes as exact byte counts). */
function listedRows(page: Page): Promise<string[][]> {
  return page.$$eval('#entries tr', (rows) =>
    (rows as HTMLTableRowElement[]).map((row) =>
      Array.from(row.cells, (cell) => cell.dataset.bytes ?? cell.textContent ?? ''),
    ),
  );
}

function expectedRows(): string[][] {
  return sample.entries.map((entry) => [
    entry.path,
    entry.kind === 'symbolic link' ? 'symbolic link → media/photo.bin' : entry.kind,
    entry.size === undefined ? '' : String(entry.size),
    entry.modified,
    entry.kind === 'file' ? 'Save' : '',
  ]);
}

/** The key as a person might paste it: upper case, dashes between groups. */
const messyKey = () => sample.key.format().toUpperCase().replaceAll(' ', '-');

async function assertNothingOffered(page: Page): Promise<void> {
  assert.equal(await page.isHidden('#listing'), true);
  assert.equal(await page.locator('#entries tr').count(), 0);
  assert.equal(await page.locator('a.download, button.save').count(), 0);
}

describe('the backup opener page in Chromium', () => {
  test('lists a backup, saves a verified file, and requests nothing but its own files', async () => {
    const { page, requests, console } = await openPage();
    await open(page, sample.file, messyKey());
    assert.match(
      (await page.textContent('#listing-summary')) ?? '',
      /^Verified: .* 6 entries: 3 files \(.*\), 2 directories, 1 symbolic link\.$/,
    );
    assert.deepEqual(await listedRows(page), expectedRows());

    const download = page.waitForEvent('download');
    await page.click('button[aria-label="Save chat/media/photo.bin"]');
    const saved = await download;
    assert.equal(saved.suggestedFilename(), 'photo.bin');
    const photo = sample.entries.find((e) => e.path === 'chat/media/photo.bin')!;
    assert.equal(sha256(await readFile(await saved.path())), photo.sha256);
    assert.equal(await page.textContent('#outcome-title'), 'Saved');

    const own = new URL(server.url).origin;
    const elsewhere = requests.filter((url) => !url.startsWith(`${own}/`) && !url.startsWith('blob:'));
    assert.deepEqual(elsewhere, []);
    assert.deepEqual(console, []);
    await page.close();
  });

  test('saves through the file system API when the browser has it (constant memory)', async () => {
    const { page } = await openPage({ saving: 'picker' });
    await open(page, sample.file, sample.key.format());
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
    assert.deepEqual(await listedRows(page), expectedRows());
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
    assert.deepEqual(await listedRows(page), expectedRows());
    await page.close();
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
    assert.deepEqual(await listedRows(page), expectedRows());
    assert.deepEqual(console, []);
    await page.close();
  });
});
