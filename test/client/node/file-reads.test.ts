// Small files read side by side during a snapshot (src/client/node/file-reads.ts): at most
// SMALL_FILES_IN_FLIGHT at once, each with a chunker no other read uses meanwhile, and a failed read
// stops the run at its next step instead of being lost. The snapshots themselves (walk order,
// hard links to files still being read, real trees) are checked in trees.test.ts and
// ../repository/repository.test.ts, which all go through these reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileReads, SMALL_FILES_IN_FLIGHT } from '../../../src/client/node/file-reads.ts';
import type { Chunker } from '../../../src/client/node/repository-backup.ts';

class UploadRefused extends Error {}
const refused = (error: unknown) => error instanceof UploadRefused;

const chunker = (): Chunker => ({ push: () => [], finish: () => undefined });

describe('small files read side by side', () => {
  it('runs at most SMALL_FILES_IN_FLIGHT reads at once, never two on one chunker, and reuses chunkers', async () => {
    let made = 0;
    const reads = new FileReads(() => {
      made++;
      return chunker();
    });
    let running = 0;
    let most = 0;
    const inUse = new Set<Chunker>();
    const results: Promise<number>[] = [];
    for (let i = 0; i < 40; i++) {
      const started = await reads.start(async (own) => {
        assert.equal(inUse.has(own), false, 'a chunker is used by one read at a time');
        inUse.add(own);
        most = Math.max(most, ++running);
        await sleep(1 + (i % 3));
        running--;
        inUse.delete(own);
        return i;
      });
      results.push(started.result);
    }
    await reads.drain();
    assert.deepEqual(
      await Promise.all(results),
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.equal(most, SMALL_FILES_IN_FLIGHT);
    assert.equal(made, SMALL_FILES_IN_FLIGHT, 'chunkers come back to the pool');
  });

  it('throws a failed read from the next start, which starts nothing, and from drain', async () => {
    const reads = new FileReads(chunker);
    const failed = await reads.start(async () => {
      throw new UploadRefused('upload refused');
    });
    await assert.rejects(failed.result, refused);
    let started = false;
    await assert.rejects(
      reads.start(async () => {
        started = true;
      }),
      refused,
    );
    assert.equal(started, false);
    await assert.rejects(reads.drain(), refused);
    await reads.settle();
  });
});
