// A run's index in parts of whole packs (src/client/repository/writer.ts; docs/FORMAT.md §12.6):
// a part ends at the first pack boundary after the part size, so no pack is split between parts,
// and the parts together list every entry once, in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectType } from '../../../src/client/repository/objects.ts';
import type { PackEntry } from '../../../src/client/repository/repository.ts';
import { INDEX_PART_BLOBS, indexParts } from '../../../src/client/repository/writer.ts';

/** Entries of packs with the given blob counts, each pack's entries next to each other. */
function packsOf(...counts: number[]): PackEntry[] {
  return counts.flatMap((count, pack) =>
    Array.from({ length: count }, (_, i) => ({
      id: `${pack}-${i}`,
      pack: `repo.pack.${pack}`,
      type: ObjectType.chunk,
      offset: i * 10,
      length: 10,
      plainLength: 1,
    })),
  );
}

const shape = (parts: Iterable<readonly PackEntry[]>) =>
  [...parts].map((part) => [...new Set(part.map((entry) => entry.pack))].map((pack) => pack.slice(10)));

describe('indexParts', () => {
  it('ends a part at the first pack boundary once it holds the part size', () => {
    const entries = packsOf(3, 2, 4, 1, 1);
    assert.deepEqual(shape(indexParts(entries, 4)), [['0', '1'], ['2'], ['3', '4']]);
    assert.deepEqual([...indexParts(entries, 4)].flat(), entries);
  });

  it('keeps a pack larger than the part size whole, in a part of its own', () => {
    assert.deepEqual(shape(indexParts(packsOf(1, 9, 1), 4)), [['0', '1'], ['2']]);
  });

  it('makes one part of a run smaller than the part size, and none of an empty run', () => {
    assert.deepEqual(shape(indexParts(packsOf(2, 1))), [['0', '1']]);
    assert.deepEqual([...indexParts([])], []);
  });

  it('parts a run at 50,000 blobs', () => {
    const entries = packsOf(INDEX_PART_BLOBS - 1, 1, 1);
    assert.equal(INDEX_PART_BLOBS, 50_000);
    assert.deepEqual(shape(indexParts(entries)), [['0', '1'], ['2']]);
  });
});
