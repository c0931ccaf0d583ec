// `strongroom demo` (README "demo"): the main job on the embedded default. Generates a sample chat
// history, backs it up, adds a second day of messages and media and backs up again (uploading only
// what is new), restores the latest backup elsewhere and verifies every byte; exits 0 only if
// everything verified.
import type { Command } from 'commander';
import { formatBytes } from '../../client/format-bytes.ts';
import { type Phase, runStandaloneDemo } from '../../demo/standalone.ts';
import { StrongroomError, UsageError } from '../../errors.ts';
import { runServerDemo } from '../../server/demo.ts';
import { createProgress, type Progress } from '../progress.ts';

interface DemoFlags {
  seed: string;
  mediaMib: string;
  messages: string;
  keep?: boolean;
  standalone?: boolean;
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new UsageError(`${flag} must be a whole number, got '${text}'`);
  return value;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'generate a sample chat history, back it up, add a day and back up again, restore it elsewhere and verify every byte',
    )
    .option('--seed <n>', 'seed of the sample history (same seed, same bytes)', '1')
    .option('--media-mib <n>', 'approximate MiB of media files', '40')
    .option('--messages <n>', 'number of messages in the database', '20000')
    .option('--keep', 'keep the temporary directory instead of deleting it')
    .option('--standalone', 'manual key and a directory store only, without the server and vault')
    .action(runDemo);
}

async function runDemo(flags: DemoFlags): Promise<void> {
  const bars = new Map<Phase, Progress>();
  let current: Phase | undefined;
  // The whole story (server, vault, new device) by default; src/server/demo.ts tells it. Its lines
  // go above the running bar, never through it (src/cli/progress.ts).
  const run = flags.standalone ? runStandaloneDemo : runServerDemo;
  const result = await run({
    onStep: (line: string) => {
      const bar = current === undefined ? undefined : bars.get(current);
      if (bar) bar.note(line);
      else process.stderr.write(`${line}\n`);
    },
    seed: positiveInteger('--seed', flags.seed),
    mediaBytes: positiveInteger('--media-mib', flags.mediaMib) * 1024 * 1024,
    messages: positiveInteger('--messages', flags.messages),
    keep: flags.keep,
    onProgress: (phase, done, total) => {
      if (phase !== current) {
        if (current !== undefined) bars.get(current)?.stop();
        current = phase;
        bars.set(phase, createProgress(phase));
      }
      bars.get(phase)!.update(done, total);
    },
  });
  if (current !== undefined) bars.get(current)?.stop();

  const { sample, seconds, comparison } = result;
  const rate = (bytes: number, s: number) => `${formatBytes(bytes / Math.max(s, 0.001))}/s`;
  const share = (part: number, whole: number) => `${((100 * part) / Math.max(whole, 1)).toFixed(1)} %`;
  const day = result.secondDay;
  const lines = [
    `sample history: ${sample.chats} chats, ${sample.messages} messages, ${sample.mediaFiles} media files, ${formatBytes(result.plainBytes)}`,
    `generated in ${seconds.generate.toFixed(1)} s`,
    `backup ${result.backupId}: ${formatBytes(result.backupBytes)} encrypted, ${seconds.backup.toFixed(1)} s (${rate(result.plainBytes, seconds.backup)})`,
    `second day: ${day.added.messages} new messages, ${day.added.mediaFiles} new media files (${formatBytes(day.added.bytes)})`,
    `backup ${day.backupId}: ${formatBytes(day.plainBytes)} backed up, ${formatBytes(day.uploadedBytes)} uploaded (${share(day.uploadedBytes, result.backupBytes)} of the first backup's upload), ${seconds['second day'].toFixed(1)} s`,
    `restored the latest backup in ${seconds.restore.toFixed(1)} s (${rate(day.plainBytes, seconds.restore)})`,
    `verified ${comparison.entries} entries, ${formatBytes(comparison.bytes)} in ${seconds.verify.toFixed(1)} s: ${
      comparison.differences.length === 0
        ? 'every byte matches'
        : `${comparison.differences.length} differences`
    }`,
  ];
  if ('story' in result) lines.push(...(result.story as string[]));
  if (flags.keep) lines.push(`kept ${result.workDir}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (comparison.differences.length > 0) {
    throw new StrongroomError(
      `the restore differs from the original in ${comparison.differences.length} places`,
      {
        hints: comparison.differences.slice(0, 10),
      },
    );
  }
}
