// The progress bar of `backup create` into a repository (README "CLI"): the bytes of the files
// done, read or found unchanged since the parent snapshot, of the bytes of every file a second
// walk of the same paths finds alongside (as restic's scanner does), so an incremental run that
// reads little still moves to its end. The walk runs only when the bar is drawn. A run that starts
// over (a retry after the account's quota refused it: docs/BACKUP.md "Repositories in ChatD
// storage") tells every file's size again, so its count starts again from zero, on a new bar.
import { resolve } from 'node:path';
import { type PlanOptions, walkPaths } from '../client/node/archive-fs.ts';
import type { SnapshotOptions } from '../client/node/repository-backup.ts';
import { createProgress } from './progress.ts';

export interface SnapshotProgress {
  /** To pass to createSnapshot. */
  readonly hooks: Required<Pick<SnapshotOptions, 'onBytes' | 'onReused'>>;
  /** The run starts over: erases the bar; the next bytes start a new one from zero, same total. */
  restart(): void;
  /** Erases the bar and ends the walk. */
  stop(): void;
}

export function snapshotProgress(paths: readonly string[], options: PlanOptions): SnapshotProgress {
  let progress = createProgress('backup');
  let done = 0;
  let total = 0;
  let stopped = false;
  const advance = (bytes: number) => {
    done += bytes;
    progress.update(done, total);
  };
  if (progress.shown) {
    // Entries the walk cannot read are the run's to report; here they only count for nothing.
    const quiet = { skipped() {}, problem() {} };
    void (async () => {
      for await (const step of walkPaths(
        paths.map((path) => resolve(path)),
        options,
        quiet,
      )) {
        if (stopped) return;
        if (step.kind === 'entry' && step.entry.type === 'file') total += Number(step.info.size);
      }
    })().catch(() => {}); // a walk that fails leaves the total as far as it got
  }
  return {
    hooks: { onBytes: advance, onReused: advance },
    restart() {
      progress.stop();
      // A new bar, so its rate and ETA are the new run's, not the first run's too.
      progress = createProgress('backup');
      done = 0;
    },
    stop() {
      stopped = true;
      progress.stop();
    },
  };
}
