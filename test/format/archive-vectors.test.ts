// Checks the committed archive vectors (test/vectors/format/*.srar, made by generate-archives.ts
// there; layout in its header comment; spec in docs/FORMAT.md §6): each success vector must parse to
// exactly its `entry:` lines, and each damaged one must be refused as a DamagedBackupError. Version
// 1 vectors keep old backups readable.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { zlibCodec } from '../../src/client/node/zlib-codec.ts';
import { DamagedBackupError } from '../../src/errors.ts';
import { pathBytes, readArchive } from '../../src/format/archive.ts';

const dir = fileURLToPath(new URL('../vectors/format/', import.meta.url));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function parse(name: string) {
  const file = readFileSync(`${dir}/${name}`);
  const end = file.indexOf('\n\n');
  assert.ok(end > 0, `${name}: no blank line after the header`);
  const lines = file.subarray(0, end).toString('utf8').split('\n');
  const expect = lines.find((l) => l.startsWith('expect: '))?.slice(8);
  assert.ok(expect === 'success' || expect === 'damaged', `${name}: unknown expect ${expect}`);
  return { expect, entries: lines.filter((l) => l.startsWith('entry: ')), archive: file.subarray(end + 2) };
}

/** Reads an archive into the vector's `entry:` lines (the layout of generate-archives.ts). */
async function describeArchive(archive: Uint8Array): Promise<string[]> {
  async function* once() {
    yield archive;
  }
  const lines: string[] = [];
  for await (const entry of readArchive(once(), zlibCodec)) {
    const parts = [
      `entry: ${entry.type} mode=${entry.mode.toString(8).padStart(4, '0')} mtime=${entry.mtimeNs}`,
      `owner=${entry.uid === undefined ? '-' : `${entry.uid}:${entry.gid}`} path=${hex(pathBytes(entry))}`,
    ];
    if (entry.type === 'file') {
      const hash = createHash('sha256');
      let size = 0;
      for await (const piece of entry.content) {
        hash.update(piece);
        size += piece.length;
      }
      parts.push(`size=${size} sha256=${hash.digest('hex')} state=${entry.changedWhileRead() ? 1 : 0}`);
    }
    if (entry.type === 'symlink' || entry.type === 'hardlink') {
      parts.push(`target=${hex(entry.rawTarget ?? Buffer.from(entry.target))}`);
    }
    lines.push(parts.join(' '));
  }
  return lines;
}

const vectors = readdirSync(dir).filter((n) => n.endsWith('.srar'));

describe('archive test vectors', () => {
  it('include both versions, compression, and refusals', () => {
    for (const name of [
      'archive_v1.srar',
      'archive_v2.srar',
      'archive_v2_deflate.srar',
      'archive_v1_hard_link.srar',
    ])
      assert.ok(vectors.includes(name), name);
    assert.ok(vectors.filter((n) => parse(n).expect === 'damaged').length >= 5);
  });
  for (const name of vectors) {
    const vector = parse(name);
    it(`${name}: ${vector.expect}`, async () => {
      if (vector.expect === 'success') {
        assert.ok(vector.entries.length > 0);
        assert.deepEqual(await describeArchive(vector.archive), vector.entries);
      } else {
        await assert.rejects(describeArchive(vector.archive), DamagedBackupError);
      }
    });
  }
});
