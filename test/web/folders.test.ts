// The folder index behind the page's folder-by-folder browsing (src/web/folders.ts; docs/WEB.md
// "Browsing folders"): which rows a folder shows and in what order, folder totals, and a selection
// that belongs to the whole listing whichever folder is shown.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ArchiveEntry } from '../../src/format/archive.ts';
import { FolderIndex } from '../../src/web/folders.ts';

const common = { mode: 0o644, mtimeNs: 0n };
const dir = (path: string): ArchiveEntry => ({ ...common, path, type: 'directory' });
const file = (path: string, size: number): ArchiveEntry => ({ ...common, path, type: 'file', size });
const link = (path: string, target: string): ArchiveEntry => ({ ...common, path, type: 'symlink', target });

/** A tree in tree order (a directory before what it holds), as listSnapshot lists one. */
const entries: ArchiveEntry[] = [
  dir('home'),
  file('home/b.txt', 2),
  dir('home/docs'),
  file('home/docs/deep.txt', 5),
  dir('home/docs/old'),
  file('home/docs/old/older.txt', 7),
  link('home/latest', 'docs/deep.txt'),
  file('home/a.txt', 1),
  dir('home/Zeta'),
  file('top.txt', 3),
];

const rows = (index: FolderIndex, path: string) =>
  index.items(path).map((item) => `${item.kind === 'folder' ? 'folder' : item.entry.type} ${item.name}`);

describe('FolderIndex', () => {
  test('a folder lists only what it holds, folders first, then the rest, each by name', () => {
    const index = new FolderIndex(entries);
    assert.deepEqual(rows(index, ''), ['folder home', 'file top.txt']);
    assert.deepEqual(rows(index, 'home'), [
      'folder Zeta',
      'folder docs',
      'file a.txt',
      'file b.txt',
      'symlink latest',
    ]);
    assert.deepEqual(rows(index, 'home/docs/old'), ['file older.txt']);
    assert.deepEqual(rows(index, 'home/Zeta'), []);
    assert.equal(index.has('home/docs/old'), true);
    assert.equal(index.has('home/a.txt'), false);
    assert.deepEqual(index.trail('home/docs/old'), ['', 'home', 'home/docs', 'home/docs/old']);
    assert.deepEqual(index.trail(''), ['']);
  });

  test("a folder's totals cover its whole subtree", () => {
    const index = new FolderIndex(entries);
    assert.deepEqual(index.totals(''), { files: 5, bytes: 18 });
    assert.deepEqual(index.totals('home'), { files: 4, bytes: 15 });
    assert.deepEqual(index.totals('home/docs'), { files: 2, bytes: 12 });
    assert.deepEqual(index.totals('home/Zeta'), { files: 0, bytes: 0 });
  });

  test('selecting a folder selects its subtree, and the selection outlives the folder shown', () => {
    const index = new FolderIndex(entries);
    index.setFolder('home/docs', true);
    assert.deepEqual(index.selection(), [
      'home/docs',
      'home/docs/deep.txt',
      'home/docs/old',
      'home/docs/old/older.txt',
    ]);
    assert.equal(index.folderState('home/docs'), 'all');
    assert.equal(index.folderState('home/docs/old'), 'all');
    assert.equal(index.folderState('home'), 'some', 'a selection deeper down shows on the way up');
    assert.equal(index.folderState(''), 'some');
    assert.equal(index.folderState('home/Zeta'), 'none');
    // A file in another folder joins the selection; listing order is kept.
    index.setEntry('top.txt', true);
    index.setEntry('home/docs/old/older.txt', false);
    assert.equal(index.folderState('home/docs'), 'some');
    assert.equal(index.folderState('home/docs/old'), 'some', 'its own entry is still selected');
    assert.deepEqual(index.selection(), ['home/docs', 'home/docs/deep.txt', 'home/docs/old', 'top.txt']);
    index.setFolder('home/docs', false);
    assert.deepEqual(index.selection(), ['top.txt']);
    assert.equal(index.folderState('home'), 'none');
  });

  test('select all takes every file and directory in every folder, never a link', () => {
    const index = new FolderIndex(entries);
    index.setAll(true);
    assert.equal(index.allState(), 'all');
    assert.equal(index.folderState(''), 'all');
    assert.equal(index.selection().length, entries.length - 1);
    assert.equal(index.isSelected('home/latest'), false);
    index.setEntry('home/a.txt', false);
    assert.equal(index.allState(), 'some');
    index.setAll(false);
    assert.equal(index.allState(), 'none');
    assert.deepEqual(index.selection(), []);
  });

  test('folders the listing only implies are shown, and selecting one selects what it holds', () => {
    // An archive may name a/b/c.txt without entries for a and a/b; a directory may come late.
    const index = new FolderIndex([file('a/b/c.txt', 4), link('a/l', 'b'), file('x/y.txt', 1), dir('x')]);
    assert.deepEqual(rows(index, ''), ['folder a', 'folder x']);
    assert.deepEqual(rows(index, 'a'), ['folder b', 'symlink l']);
    const [a, x] = index.items('');
    assert.equal(a?.entry, null);
    assert.equal(x?.entry?.path, 'x', 'a directory listed after its contents is still its folder');
    index.setFolder('a', true);
    assert.deepEqual(index.selection(), ['a/b/c.txt']);
    assert.equal(index.folderState('a'), 'all');
    assert.equal(index.hasSelectable('a'), true);
    const links = new FolderIndex([link('only/l', 'x')]);
    assert.equal(links.hasSelectable('only'), false);
  });

  test('numbers every folder, the root 0, and maps each number back to its folder', () => {
    const index = new FolderIndex(entries);
    const folders = ['', 'home', 'home/docs', 'home/docs/old', 'home/Zeta'];
    const numbers = folders.map((path) => index.numberOf(path));
    assert.equal(numbers[0], 0, 'the top folder');
    // Small integers, one per folder: what a history entry records instead of a name (docs/WEB.md).
    assert.deepEqual([...numbers].sort(), [0, 1, 2, 3, 4]);
    for (const path of folders) assert.equal(index.pathOf(index.numberOf(path)!), path);
    // The same listing indexed again numbers its folders the same way, so an entry re-enters it.
    const again = new FolderIndex(entries);
    for (const path of folders) assert.equal(again.numberOf(path), index.numberOf(path), path);
    // Folders only implied by what they hold are numbered too.
    const implied = new FolderIndex([file('a/b/c.txt', 4)]);
    assert.deepEqual(
      ['', 'a', 'a/b'].map((path) => implied.pathOf(implied.numberOf(path)!)),
      ['', 'a', 'a/b'],
    );
  });

  test('gives no number to what is not a folder, and no folder to a number it did not give', () => {
    const index = new FolderIndex(entries);
    for (const path of ['home/a.txt', 'home/latest', 'nowhere', 'home/', '/home'])
      assert.equal(index.numberOf(path), undefined, path);
    for (const number of [5, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])
      assert.equal(index.pathOf(number), undefined, String(number));
  });

  test('a listing of many files draws one folder at a time', () => {
    const many: ArchiveEntry[] = [];
    for (let d = 0; d < 50; d++) {
      many.push(dir(`d${d}`));
      for (let f = 0; f < 200; f++) many.push(file(`d${d}/f${f}`, 1));
    }
    const index = new FolderIndex(many);
    assert.equal(index.items('').length, 50);
    assert.equal(index.items('d7').length, 200);
    index.setAll(true);
    assert.equal(index.folderState('d49'), 'all');
    assert.equal(index.selection().length, 50 * 201);
  });
});
