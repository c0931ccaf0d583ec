// What the page tests share (page.test.ts, repository-page.test.ts): a tab on the page that records
// its requests, the replaced save and folder dialogs, the layout measure and the origin-private
// folder listing.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

export interface PageOptions {
  readonly url: string;
  /** 'blob': no File System Access API (downloads and zips); 'picker': dialogs answered with the origin-private file system. */
  readonly saving?: 'blob' | 'picker';
  readonly viewport?: { width: number; height: number };
}

export interface OpenedPage {
  readonly page: Page;
  /** Every URL the page requested. */
  readonly requests: string[];
  /** Console lines and page errors. */
  readonly console: string[];
  /** The origin-private folder the replaced folder dialog answers for saving (mode 'readwrite'). */
  readonly folder: string;
  /** The origin-private folder the replaced folder dialog answers for reading (mode 'read'). */
  readonly readFolder: string;
}

let pagesOpened = 0;

/** A fresh tab on the page, recording every request it makes and every console line. */
export async function openPage(context: BrowserContext, options: PageOptions): Promise<OpenedPage> {
  const page = await context.newPage();
  // The folders the replaced folder dialog "picks": fresh for each page (they share one origin).
  const folder = `picked-${++pagesOpened}`;
  const readFolder = `read-${pagesOpened}`;
  if (options.viewport !== undefined) await page.setViewportSize(options.viewport);
  const requests: string[] = [];
  const console: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => console.push(message.text()));
  page.on('pageerror', (error) => console.push(`page error: ${error.message}`));
  if ((options.saving ?? 'blob') === 'blob') {
    // Headless Chromium has the save dialogs but nobody to answer them: take the Blob/zip path.
    await page.addInitScript(() => {
      delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
      delete (window as { showDirectoryPicker?: unknown }).showDirectoryPicker;
    });
  } else {
    // The dialogs cannot be answered here, so they are replaced by handles in the origin-private
    // file system: a real FileSystemFileHandle whose writable has the same swap-then-commit
    // behaviour, and real FileSystemDirectoryHandles (`folder` to save into, `readFolder` to read).
    await page.addInitScript(
      ([folder, readFolder]) => {
        (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async (options: {
          suggestedName: string;
        }) => (await navigator.storage.getDirectory()).getFileHandle(options.suggestedName, { create: true });
        (window as unknown as { showDirectoryPicker: unknown }).showDirectoryPicker = async (options: {
          mode: string;
        }) =>
          (await navigator.storage.getDirectory()).getDirectoryHandle(
            options.mode === 'read' ? readFolder! : folder!,
            { create: true },
          );
      },
      [folder, readFolder],
    );
  }
  await page.goto(options.url);
  return { page, requests, console, folder, readFolder };
}

/** Where the layout tests leave their screenshots, to be looked at. */
export const SCREENSHOTS = join(tmpdir(), 'strongroom-web-screenshots');

/** A PNG's pixel width, from its IHDR chunk. */
export const pngWidth = (png: Buffer) => png.readUInt32BE(16);

/**
 * What the page looks like at its current size: how wide it scrolls, where every visible control
 * sits horizontally, and on how many lines each listed path is drawn.
 */
export function layout(page: Page) {
  return page.evaluate(() => {
    const controls = Array.from(document.querySelectorAll('button, input, a.download'))
      .filter((el) => el.getClientRects().length > 0)
      .map((el) => {
        const box = el.getBoundingClientRect();
        return {
          name: el.getAttribute('aria-label') ?? el.id ?? el.textContent,
          left: box.left,
          right: box.right,
        };
      });
    // Lines of text only: a folder's name is a button, whose own box would count as one more top.
    const paths = Array.from(document.querySelectorAll<HTMLElement>('#entries td.path')).map((cell) => {
      const tops = new Set<number>();
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let text = walker.nextNode(); text !== null; text = walker.nextNode()) {
        const range = document.createRange();
        range.selectNodeContents(text);
        for (const rect of range.getClientRects()) tops.add(Math.round(rect.top));
      }
      return { text: cell.textContent ?? '', lines: tops.size };
    });
    return {
      viewportWidth: window.innerWidth,
      scrollWidth: document.scrollingElement?.scrollWidth ?? Number.POSITIVE_INFINITY,
      controls,
      paths,
    };
  });
}

/** Lists a directory of the origin-private file system as path → SHA-256 of each file. */
export function privateFolderDigests(page: Page, folder: string): Promise<Record<string, string>> {
  return page.evaluate(async (name) => {
    const out: Record<string, string> = {};
    type Listable = FileSystemDirectoryHandle & {
      entries(): AsyncIterable<[string, FileSystemDirectoryHandle | FileSystemFileHandle]>;
    };
    // A loop, not a recursive helper: tsx would wrap a named helper in __name, unknown to the page.
    const pending: [FileSystemDirectoryHandle, string][] = [
      [await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true }), ''],
    ];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const [dir, prefix] = next;
      for await (const [entryName, handle] of (dir as Listable).entries()) {
        if (handle.kind === 'directory') {
          out[`${prefix}${entryName}/`] = 'directory';
          pending.push([handle as FileSystemDirectoryHandle, `${prefix}${entryName}/`]);
        } else {
          const bytes = await (await (handle as FileSystemFileHandle).getFile()).arrayBuffer();
          const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
          out[`${prefix}${entryName}`] = Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
        }
      }
    }
    return out;
  }, folder);
}

/** Fails unless every URL is the page's own origin's or a blob: URL it made. */
export function requestsElsewhere(requests: readonly string[], origin: string): string[] {
  return requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('blob:'));
}

/** The folder the listing shows ('' for the top), from the breadcrumb. */
export async function shownFolder(page: Page): Promise<string> {
  return (await page.getAttribute('#breadcrumb-list [aria-current]', 'data-folder')) ?? '';
}

/**
 * Shows `folder` of the listing as a user would: up through the breadcrumb to the nearest folder
 * above both, then down by clicking each folder's name.
 */
export async function goToFolder(page: Page, folder: string): Promise<void> {
  const current = await shownFolder(page);
  if (current === folder) return;
  const trail = (path: string) =>
    path === '' ? [''] : ['', ...path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))];
  const wanted = trail(folder);
  const common = trail(current).filter((step, i) => wanted[i] === step);
  const meet = common[common.length - 1]!;
  if (meet !== current) await page.click(`#breadcrumb button.crumb[data-folder=${JSON.stringify(meet)}]`);
  for (const step of wanted.slice(common.length)) {
    await page.click(`#entries button.folder-link[data-folder=${JSON.stringify(step)}]`);
  }
  assert.equal(await shownFolder(page), folder);
}

/** Visits every folder of the listing from the top and returns `rowsOf` each, by folder path. */
export async function listedFolders<T>(
  page: Page,
  rowsOf: (page: Page) => Promise<T>,
): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  const pending = [''];
  for (let folder = pending.shift(); folder !== undefined; folder = pending.shift()) {
    await goToFolder(page, folder);
    out[folder] = await rowsOf(page);
    pending.push(
      ...(await page.$$eval('#entries button.folder-link', (buttons) =>
        buttons.map((button) => (button as HTMLElement).dataset.folder ?? ''),
      )),
    );
  }
  return out;
}

/** Presses "Save selected" and waits for the outcome, which must be "Saved" (else its message says why). */
export async function saveSelected(page: Page): Promise<void> {
  await page.click('#save-selected');
  await page.waitForSelector('#outcome:not([hidden])');
  assert.equal(
    await page.textContent('#outcome-title'),
    'Saved',
    (await page.textContent('#outcome-message')) ?? '',
  );
}

/**
 * Presses the browser's Back or Forward button (docs/WEB.md "Back and Forward") and waits until the
 * page followed the entry: its popstate handled, and any pass that started (re-entering a snapshot
 * verifies its folders again) ended. Fails if the press left the page instead.
 */
export async function travel(page: Page, direction: 'back' | 'forward'): Promise<void> {
  await page.evaluate(() => {
    const marked = window as unknown as { travelled?: boolean };
    marked.travelled = false;
    addEventListener(
      'popstate',
      () => {
        marked.travelled = true;
      },
      { once: true },
    );
  });
  await (direction === 'back' ? page.goBack() : page.goForward());
  const travelled = await page.evaluate(() => (window as unknown as { travelled?: boolean }).travelled);
  assert.notEqual(travelled, undefined, `${direction} left the page (now ${page.url()})`);
  await page.waitForFunction(() => (window as unknown as { travelled?: boolean }).travelled === true);
  await page.waitForSelector('#progress-section', { state: 'hidden' });
}

/** What history.state holds on the page: only numbers and random ids, never a name. */
export function historyState(page: Page): Promise<unknown> {
  return page.evaluate(() => history.state as unknown);
}
