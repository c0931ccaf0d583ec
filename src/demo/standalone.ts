// The standalone demo flow (docs/BACKUP.md "Demo", manual mode): sample history → backup
// with a fresh manual key to a temporary directory store → restore elsewhere → byte-for-byte check.
// The server flow (src/server/demo.ts) reuses generateSampleHistory and compareTrees the same way.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackup, restoreBackup } from '../client/node/backup.ts';
import { nodeCrypto } from '../client/node/node-crypto.ts';
import { BackupKey } from '../format/key.ts';
import { DirectoryBlobStore } from '../stores/blob/directory.ts';
import { compareTrees, type TreeComparison } from './compare-trees.ts';
import { generateSampleHistory, type SampleSummary } from './sample-history.ts';

export type Phase = 'generate' | 'backup' | 'restore' | 'verify';

export interface DemoOptions {
  seed: number;
  mediaBytes: number;
  messages: number;
  /** Keep the temporary directory (its path is in the result) instead of deleting it. */
  keep?: boolean;
  /** Progress of each phase in bytes. */
  onProgress?: (phase: Phase, done: number, total: number) => void;
}

export interface DemoResult {
  readonly workDir: string;
  readonly sample: SampleSummary;
  readonly backupId: string;
  /** Bytes of file content backed up, and of the encrypted backup. */
  readonly plainBytes: number;
  readonly backupBytes: number;
  readonly seconds: Readonly<Record<Phase, number>>;
  readonly comparison: TreeComparison;
}

export async function runStandaloneDemo(options: DemoOptions): Promise<DemoResult> {
  const workDir = await mkdtemp(join(tmpdir(), 'strongroom-demo-'));
  const source = join(workDir, 'device', 'chat-history');
  const store = new DirectoryBlobStore(join(workDir, 'store'));
  const restored = join(workDir, 'new-device');
  const { seconds, timed, progress } = phaseClock(options.onProgress);
  // A fresh manual key, as `strongroom keygen` makes; it lives only for this run.
  const key = BackupKey.generate(nodeCrypto.randomBytes);
  try {
    const sample = await timed('generate', () =>
      generateSampleHistory(source, { ...options, onProgress: progress('generate') }),
    );
    const backup = await timed('backup', () =>
      createBackup([source], { key, store, onProgress: progress('backup') }),
    );
    await timed('restore', () =>
      restoreBackup({ key, store, id: backup.id, to: restored, onProgress: progress('restore') }),
    );
    const comparison = await timed('verify', () => compareTrees(source, join(restored, 'chat-history')));
    return {
      workDir,
      sample,
      backupId: backup.id,
      plainBytes: backup.plan.contentBytes,
      backupBytes: backup.size,
      seconds,
      comparison,
    };
  } finally {
    key.destroy();
    if (!options.keep) await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The demo's stopwatch, shared by the standalone and the server story: `timed` runs one phase and
 * records its seconds, `progress` forwards a phase's progress to the caller's listener.
 */
export function phaseClock(onProgress: DemoOptions['onProgress']) {
  const seconds: Record<Phase, number> = { generate: 0, backup: 0, restore: 0, verify: 0 };
  const timed = async <T>(phase: Phase, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    seconds[phase] = (performance.now() - started) / 1000;
    return result;
  };
  const progress = (phase: Phase) => (done: number, total: number) => onProgress?.(phase, done, total);
  return { seconds, timed, progress };
}
