// Peak memory of a repository backup of many small files (docs/BENCHMARKS.md "Incremental
// backups"; the issue's target: at most 256 MiB for 200,000 files): trees are stored as their
// directories complete, so memory grows with the repository's index, not with the tree walked.
// Measures `strongroom backup create` (first, then unchanged second) and `restic backup` on the
// same tree of STRONGROOM_BENCH_RSS_FILES (default 200,000) files of 100 random bytes, 1,000 per
// directory, in /dev/shm; peak RSS is GNU time's %M (maximum resident set size) of the process.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCli } from './compiled-cli.ts';
import { fixed } from './stats.ts';
import { runUnderTime } from './timed-process.ts';

const FILES = Number(process.env.STRONGROOM_BENCH_RSS_FILES ?? 200_000);
const PER_DIRECTORY = 1000;

export default async function repositoryTreeRss(): Promise<string> {
  const work = mkdtempSync('/dev/shm/strongroom-bench-rss-');
  try {
    const cli = buildCli(work);
    const tree = join(work, 'tree');
    for (let i = 0; i < FILES; i++) {
      const directory = join(tree, `d${Math.floor(i / PER_DIRECTORY)}`);
      if (i % PER_DIRECTORY === 0) mkdirSync(directory, { recursive: true });
      writeFileSync(join(directory, `f${i}`), randomBytes(100));
    }
    const keyFile = join(work, 'key');
    writeFileSync(keyFile, execFileSync(process.execPath, [...cli, 'keygen']));
    const repo = join(work, 'repo');
    const snapshot = () =>
      runUnderTime(process.execPath, [
        ...cli,
        'backup',
        'create',
        tree,
        '--to',
        repo,
        '--key-file',
        keyFile,
        '--json',
      ]);
    const first = await snapshot();
    console.error(
      `snapshot-rss: first snapshot ${fixed(first.peakRssMiB, 0)} MiB, ${fixed(first.seconds)} s`,
    );
    const second = await snapshot();
    console.error(
      `snapshot-rss: second snapshot ${fixed(second.peakRssMiB, 0)} MiB, ${fixed(second.seconds)} s`,
    );
    const secondAdded = (JSON.parse(second.stdout) as { added: number }).added;
    const resticEnv = { RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: join(work, 'restic-cache') };
    const resticRepo = join(work, 'restic');
    execFileSync('restic', ['init', '--repo', resticRepo], {
      env: { ...process.env, ...resticEnv },
      stdio: 'ignore',
    });
    const restic = await runUnderTime('restic', ['backup', '--repo', resticRepo, '--json', tree], resticEnv);
    const resticSecond = await runUnderTime(
      'restic',
      ['backup', '--repo', resticRepo, '--json', tree],
      resticEnv,
    );
    const row = (name: string, m: { peakRssMiB: number; seconds: number }) =>
      `| ${name} | ${fixed(m.peakRssMiB, 0)} | ${fixed(m.seconds)} |`;
    return [
      '## Repository backup of many small files: peak RSS',
      '',
      `${FILES.toLocaleString('en')} files of 100 random bytes, ${PER_DIRECTORY} per directory, in /dev/shm (STRONGROOM_BENCH_RSS_FILES); peak RSS from GNU time %M, one run each. Target: at most 256 MiB.`,
      '',
      '| run | peak RSS MiB | time s |',
      '|---|---|---|',
      row('strongroom backup create, first', first),
      row(`strongroom backup create, unchanged second (${secondAdded} B added)`, second),
      row('restic backup, first', restic),
      row('restic backup, unchanged second', resticSecond),
    ].join('\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
