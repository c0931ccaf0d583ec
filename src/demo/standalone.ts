// The standalone demo flow (docs/BACKUP.md "Demo", manual mode): sample history → snapshot with
// a fresh manual key into a repository in a temporary directory store → a second day of messages
// and media → a second snapshot, which uploads only what is new → restore of the latest elsewhere →
// byte-for-byte check. The server flow (src/server/demo.ts) reuses the generator, the second day
// and compareTrees the same way.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCrypto } from '../client/node/node-crypto.ts';
import { createSnapshot, restoreSnapshot } from '../client/node/repository-backup.ts';
import { zstdCompression } from '../client/node/zstd-compression.ts';
import { Repository } from '../client/repository/repository.ts';
import { BackupKey } from '../format/key.ts';
import { DirectoryBlobStore } from '../stores/blob/directory.ts';
import { compareTrees, type TreeComparison } from './compare-trees.ts';
import { addSampleDay, generateSampleHistory, type SampleSummary } from './sample-history.ts';

export type Phase = 'generate' | 'backup' | 'second day' | 'restore' | 'verify';

export interface DemoOptions {
  seed: number;
  mediaBytes: number;
  messages: number;
  /** Keep the temporary directory (its path is in the result) instead of deleting it. */
  keep?: boolean;
  /** Progress of each phase in bytes. */
  onProgress?: (phase: Phase, done: number, total: number) => void;
}

/** The second day: what it added to the history, and what its backup uploaded. */
export interface SecondDay {
  readonly added: SampleSummary;
  readonly backupId: string;
  /** Bytes of file content in the second snapshot, and of what its run uploaded. */
  readonly plainBytes: number;
  readonly uploadedBytes: number;
}

export interface DemoResult {
  readonly workDir: string;
  readonly sample: SampleSummary;
  readonly backupId: string;
  /** Bytes of file content backed up, and of what the first backup uploaded (encrypted). */
  readonly plainBytes: number;
  readonly backupBytes: number;
  readonly secondDay: SecondDay;
  readonly seconds: Readonly<Record<Phase, number>>;
  readonly comparison: TreeComparison;
}

/** A day's new messages and media: about a tenth of the first day's media and messages. */
export function secondDayOptions(options: DemoOptions) {
  return {
    seed: options.seed,
    day: 1,
    mediaBytes: Math.ceil(options.mediaBytes / 10),
    messages: Math.ceil(options.messages / 10),
  };
}

export async function runStandaloneDemo(options: DemoOptions): Promise<DemoResult> {
  const workDir = await mkdtemp(join(tmpdir(), 'strongroom-demo-'));
  const source = join(workDir, 'device', 'chat-history');
  const store = new DirectoryBlobStore(join(workDir, 'store'));
  const restored = join(workDir, 'new-device');
  const { seconds, timed, progress } = phaseClock(options.onProgress);
  // A fresh manual key, as `strongroom keygen` makes; it lives only for this run.
  const key = BackupKey.generate(nodeCrypto.randomBytes);
  let repository: Repository | undefined;
  try {
    const sample = await timed('generate', () =>
      generateSampleHistory(source, { ...options, onProgress: progress('generate') }),
    );
    repository = await Repository.openOrCreate(store, key, nodeCrypto, { compression: zstdCompression() });
    const opened = repository;
    const first = await timed('backup', () => createSnapshot(opened, [source]));
    const second = await timed('second day', async () => {
      const added = await addSampleDay(source, {
        ...secondDayOptions(options),
        onProgress: progress('second day'),
      });
      return { added, snapshot: await createSnapshot(opened, [source]) };
    });
    await timed('restore', () => restoreSnapshot(opened, { to: restored }));
    const comparison = await timed('verify', () => compareTrees(source, join(restored, 'chat-history')));
    return {
      workDir,
      sample,
      backupId: first.id,
      plainBytes: first.size,
      backupBytes: first.added,
      secondDay: {
        added: second.added,
        backupId: second.snapshot.id,
        plainBytes: second.snapshot.size,
        uploadedBytes: second.snapshot.added,
      },
      seconds,
      comparison,
    };
  } finally {
    repository?.close();
    key.destroy();
    if (!options.keep) await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The demo's stopwatch, shared by the standalone and the server story: `timed` runs one phase and
 * records its seconds, `progress` forwards a phase's progress to the caller's listener.
 */
export function phaseClock(onProgress: DemoOptions['onProgress']) {
  const seconds: Record<Phase, number> = { generate: 0, backup: 0, 'second day': 0, restore: 0, verify: 0 };
  const timed = async <T>(phase: Phase, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    seconds[phase] = (performance.now() - started) / 1000;
    return result;
  };
  const progress = (phase: Phase) => (done: number, total: number) => onProgress?.(phase, done, total);
  return { seconds, timed, progress };
}
