// Incremental repository backups (docs/BENCHMARKS.md, "Incremental backups"): the chunker's speed,
// chunk compression (zstd levels 1 and 3 against deflate levels 1 and 6) on a real tree, and
// Strongroom repository backups against restic in the same run: first backup (time, store size),
// a second backup with nothing changed (time, bytes added), restore, and a synthetic chat history
// grown 1 % a day. Medians of alternated rounds. The tree is real files copied from /usr/lib:
// STRONGROOM_BENCH_TREE_MIB (default 64) sets its size; use 1100 for the issue's ≥ 1 GB run.
// Last, one generated file of random bytes (STRONGROOM_BENCH_BIG_FILE_MIB, default 256; 4096 for
// the issue's 4 GiB) is backed up by each tool under GNU time for its peak RSS.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { zstdCompression } from '../src/client/node/zstd-compression.ts';
import { ContentDefinedChunker } from '../src/client/repository/chunker.ts';
import { buildCli } from './compiled-cli.ts';
import { fixed, median } from './stats.ts';
import { runUnderTime } from './timed-process.ts';

const MiB = 2 ** 20;
/** STRONGROOM_BENCH_ROUNDS (default 3): alternated rounds of the tree's first, second backup and restore. */
const ROUNDS = Number(process.env.STRONGROOM_BENCH_ROUNDS ?? 3);
const TREE_MIB = Number(process.env.STRONGROOM_BENCH_TREE_MIB ?? 64);
/** The one big file backed up for its peak RSS: STRONGROOM_BENCH_BIG_FILE_MIB (4096 for the issue's 4 GiB). */
const BIG_FILE_MIB = Number(process.env.STRONGROOM_BENCH_BIG_FILE_MIB ?? 256);

/** Bytes under `path` (regular files only), as a store's size on disk. */
function treeBytes(path: string): number {
  const stat = lstatSync(path);
  if (stat.isDirectory())
    return readdirSync(path).reduce((sum, name) => sum + treeBytes(join(path, name)), 0);
  return stat.isFile() ? stat.size : 0;
}

/** Copies regular files from /usr/lib into `dir` until `limit` bytes: a real tree nobody here wrote. */
function copyRealTree(dir: string, limit: number): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const walk = (from: string, to: string): void => {
    let names: string[];
    try {
      names = readdirSync(from).sort();
    } catch {
      return; // unreadable directory: skip it
    }
    for (const name of names) {
      if (bytes >= limit) return;
      const source = join(from, name);
      const stat = lstatSync(source);
      if (stat.isDirectory()) walk(source, join(to, name));
      // A file that would overshoot the limit is skipped, so the tree is the size asked for.
      else if (stat.isFile() && stat.size > 0 && bytes + stat.size <= limit) {
        mkdirSync(to, { recursive: true });
        try {
          copyFileSync(source, join(to, name));
        } catch {
          continue; // unreadable file: skip it
        }
        bytes += stat.size;
        files++;
      }
    }
  };
  walk('/usr/lib', dir);
  return { bytes, files };
}

/** Concatenated contents of the tree's files, for the in-process chunker and compression figures. */
function treeSample(dir: string, limit: number): Uint8Array {
  const parts: Buffer[] = [];
  let bytes = 0;
  const walk = (path: string): void => {
    for (const name of readdirSync(path).sort()) {
      if (bytes >= limit) return;
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const data = readFileSync(full);
        parts.push(data);
        bytes += data.length;
      }
    }
  };
  walk(dir);
  return new Uint8Array(Buffer.concat(parts).subarray(0, limit));
}

function chunkerSpeed(data: Uint8Array): number {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const chunker = new ContentDefinedChunker(new Uint8Array(32).fill(r + 1));
    const started = performance.now();
    for (let at = 0; at < data.length; at += MiB) chunker.push(data.subarray(at, at + MiB));
    chunker.finish();
    rounds.push(data.length / MiB / ((performance.now() - started) / 1000));
  }
  return median(rounds);
}

interface CodecFigure {
  name: string;
  ratio: number;
  compressMiBs: number;
  decompressMiBs: number;
}

/** Compresses `data` in 1 MiB chunks (the repository's average) with each codec, alternating codecs. */
function compressionFigures(data: Uint8Array): CodecFigure[] {
  const codecs = [
    { name: 'zstd level 1', codec: zstdCompression(1) },
    { name: 'zstd level 3', codec: zstdCompression(3) },
    {
      name: 'deflate level 1',
      codec: {
        compress: (p: Uint8Array) => deflateSync(p, { level: 1 }),
        decompress: (p: Uint8Array) => inflateSync(p),
      },
    },
    {
      name: 'deflate level 6',
      codec: {
        compress: (p: Uint8Array) => deflateSync(p, { level: 6 }),
        decompress: (p: Uint8Array) => inflateSync(p),
      },
    },
  ];
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += MiB) chunks.push(data.subarray(at, at + MiB));
  const samples = codecs.map(() => ({ packed: 0, compress: [] as number[], decompress: [] as number[] }));
  for (let r = 0; r < ROUNDS; r++) {
    codecs.forEach(({ codec }, c) => {
      let started = performance.now();
      const packed = chunks.map((chunk) => codec.compress(chunk));
      samples[c]!.compress.push(data.length / MiB / ((performance.now() - started) / 1000));
      samples[c]!.packed = packed.reduce((sum, p) => sum + p.length, 0);
      started = performance.now();
      for (const [i, p] of packed.entries()) codec.decompress(p, chunks[i]!.length);
      samples[c]!.decompress.push(data.length / MiB / ((performance.now() - started) / 1000));
    });
  }
  return codecs.map(({ name }, c) => ({
    name,
    ratio: data.length / samples[c]!.packed,
    compressMiBs: median(samples[c]!.compress),
    decompressMiBs: median(samples[c]!.decompress),
  }));
}

/** One tool's backup commands: init, back up a directory (returns a snapshot id), restore one. */
interface Tool {
  name: string;
  init(repo: string): Promise<void>;
  backup(repo: string, path: string): Promise<{ seconds: number; id: string; peakRssMiB: number }>;
  restore(repo: string, id: string, out: string): Promise<number>;
}

function restic(work: string): Tool {
  const env = { RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: join(work, 'restic-cache') };
  return {
    name: 'restic',
    init: async (repo) => void (await runUnderTime('restic', ['init', '--repo', repo], env)),
    async backup(repo, path) {
      const { seconds, stdout, peakRssMiB } = await runUnderTime(
        'restic',
        ['backup', '--repo', repo, '--json', path],
        env,
      );
      const summary = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { message_type: string; snapshot_id?: string })
        .find((m) => m.message_type === 'summary');
      return { seconds, id: summary!.snapshot_id!, peakRssMiB };
    },
    restore: async (repo, id, out) =>
      (await runUnderTime('restic', ['restore', '--repo', repo, id, '--target', out], env)).seconds,
  };
}

/** Strongroom as users call it: `strongroom backup create PATH --to REPO --key-file K --json`. */
function strongroom(work: string, cli: readonly string[]): Tool {
  const keyFile = join(work, 'key.txt');
  return {
    name: 'Strongroom',
    async init() {
      writeFileSync(keyFile, (await runUnderTime(process.execPath, [...cli, 'keygen'])).stdout);
    },
    async backup(repo, path) {
      const { seconds, stdout, peakRssMiB } = await runUnderTime(process.execPath, [
        ...cli,
        'backup',
        'create',
        path,
        '--to',
        repo,
        '--key-file',
        keyFile,
        '--json',
      ]);
      return { seconds, id: (JSON.parse(stdout) as { id: string }).id, peakRssMiB };
    },
    restore: async (repo, id, out) =>
      (
        await runUnderTime(process.execPath, [
          ...cli,
          'backup',
          'restore',
          '--from',
          repo,
          '--id',
          id,
          '--to',
          out,
          '--key-file',
          keyFile,
        ])
      ).seconds,
  };
}

interface ToolFigures {
  first: number[];
  firstSize: number;
  second: number[];
  secondAdded: number;
  restore: number[];
  growthAdded: number[];
  history: number;
  bigFile?: { seconds: number; peakRssMiB: number };
}

const emptyFigures = (): ToolFigures => ({
  first: [],
  firstSize: 0,
  second: [],
  secondAdded: 0,
  restore: [],
  growthAdded: [],
  history: 0,
});

/** Grows a synthetic chat history by `share` of its size: the database appended at its end, plus new media. */
function growHistory(dir: string, share: number, day: number): void {
  const database = join(dir, 'messages.db');
  const size = treeBytes(dir);
  const growth = Math.max(4096, Math.round(size * share));
  appendFileSync(database, randomBytes(Math.round(growth / 2)));
  mkdirSync(join(dir, 'media'), { recursive: true });
  writeFileSync(join(dir, 'media', `day-${day}.jpg`), randomBytes(growth - Math.round(growth / 2)));
}

/** One round on the tree: first backup, second with nothing changed, restore of the first. */
async function measureRound(tool: Tool, work: string, tree: string, figures: ToolFigures): Promise<void> {
  const repo = join(work, `${tool.name}-repo`);
  rmSync(repo, { recursive: true, force: true });
  await tool.init(repo);
  const first = await tool.backup(repo, tree);
  figures.first.push(first.seconds);
  figures.firstSize = treeBytes(repo);
  figures.second.push((await tool.backup(repo, tree)).seconds);
  figures.secondAdded = treeBytes(repo) - figures.firstSize;
  const out = join(work, `${tool.name}-out`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  figures.restore.push(await tool.restore(repo, first.id, out));
  rmSync(out, { recursive: true, force: true });
  rmSync(repo, { recursive: true, force: true });
}

/** The chat history: 7 days of 1 % growth, one backup a day. */
async function measureHistory(tool: Tool, work: string, figures: ToolFigures): Promise<void> {
  const history = join(work, `${tool.name}-history`);
  rmSync(history, { recursive: true, force: true });
  mkdirSync(history);
  writeFileSync(join(history, 'messages.db'), randomBytes(24 * MiB));
  mkdirSync(join(history, 'media'));
  for (let i = 0; i < 8; i++) writeFileSync(join(history, 'media', `old-${i}.jpg`), randomBytes(5 * MiB));
  const repo = join(work, `${tool.name}-history-repo`);
  rmSync(repo, { recursive: true, force: true });
  await tool.init(repo);
  await tool.backup(repo, history);
  for (let day = 1; day <= 7; day++) {
    growHistory(history, 0.01, day);
    const before = treeBytes(repo);
    await tool.backup(repo, history);
    figures.growthAdded.push(treeBytes(repo) - before);
  }
  figures.history = treeBytes(history);
  rmSync(history, { recursive: true, force: true });
  rmSync(repo, { recursive: true, force: true });
}

/** A file of BIG_FILE_MIB random bytes (written 64 MiB at a time, so the bench itself stays small). */
function writeBigFile(path: string): void {
  writeFileSync(path, new Uint8Array(0));
  for (let left = BIG_FILE_MIB; left > 0; left -= 64)
    appendFileSync(path, randomBytes(Math.min(64, left) * MiB));
}

export default async function repositoryBench(): Promise<string> {
  const loadStart = loadavg()
    .map((load) => fixed(load, 1))
    .join(' ');
  const work = `/dev/shm/strongroom-repository-bench-${process.pid}`;
  mkdirSync(work, { recursive: true });
  try {
    const tree = join(work, 'tree');
    const copied = copyRealTree(tree, TREE_MIB * MiB);
    const sample = treeSample(tree, Math.min(copied.bytes, 64 * MiB));
    const lines = [
      `## Incremental backups`,
      '',
      `A tree of ${fixed(copied.bytes / MiB, 0)} MiB in ${copied.files} files copied from /usr/lib (STRONGROOM_BENCH_TREE_MIB=${TREE_MIB}), in /dev/shm; medians of ${ROUNDS} alternated rounds.`,
      '',
      `Chunker (FastCDC, 512 KiB / 1 MiB / 8 MiB, pushed 1 MiB at a time, in process): ${fixed(chunkerSpeed(sample), 0)} MiB/s on ${fixed(sample.length / MiB, 0)} MiB of the tree.`,
      '',
      '| compression (1 MiB chunks of the tree) | ratio | compress MiB/s | decompress MiB/s |',
      '|---|---|---|---|',
      ...compressionFigures(sample).map(
        (f) =>
          `| ${f.name} | ${fixed(f.ratio)} | ${fixed(f.compressMiBs, 0)} | ${fixed(f.decompressMiBs, 0)} |`,
      ),
      '',
    ];
    const tools = [restic(work), strongroom(work, buildCli(work))];
    const results = new Map<string, ToolFigures | string>(tools.map((tool) => [tool.name, emptyFigures()]));
    const attempt = async (tool: Tool, step: (figures: ToolFigures) => Promise<void>) => {
      const figures = results.get(tool.name);
      if (typeof figures !== 'object') return;
      try {
        await step(figures);
      } catch (error) {
        results.set(
          tool.name,
          `not measured: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
        );
      }
    };
    // Rounds alternate between the tools, so that a change in the machine's load hits both.
    for (let r = 0; r < ROUNDS; r++)
      for (const tool of tools) await attempt(tool, (figures) => measureRound(tool, work, tree, figures));
    for (const tool of tools) await attempt(tool, (figures) => measureHistory(tool, work, figures));
    const bigDir = join(work, 'big');
    mkdirSync(bigDir);
    writeBigFile(join(bigDir, 'big.bin'));
    for (const tool of tools) {
      await attempt(tool, async (figures) => {
        const repo = join(work, `${tool.name}-big-repo`);
        await tool.init(repo);
        const { seconds, peakRssMiB } = await tool.backup(repo, bigDir);
        figures.bigFile = { seconds, peakRssMiB };
        rmSync(repo, { recursive: true, force: true });
      });
    }
    rmSync(bigDir, { recursive: true, force: true });
    const reference = results.get('restic');
    lines.push(
      `Load average at the start ${loadStart}, at the end ${loadavg()
        .map((load) => fixed(load, 1))
        .join(' ')} (1, 5, 15 minutes).`,
      '',
      `| | first backup s | store MiB | second backup s | second adds B | restore s | 1 % day adds (median) | ${BIG_FILE_MIB} MiB file: backup s, peak RSS MiB |`,
    );
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const [name, figures] of results) {
      if (typeof figures === 'string') {
        lines.push(`| ${name} | ${figures} |||||||`);
        continue;
      }
      const ratio = (mine: number, theirs: number) =>
        typeof reference === 'object' && name !== 'restic' ? ` (${fixed(mine / theirs)}×)` : '';
      const ref = typeof reference === 'object' ? reference : figures;
      lines.push(
        `| ${name} | ${fixed(median(figures.first))}${ratio(median(figures.first), median(ref.first))} | ${fixed(figures.firstSize / MiB, 1)}${ratio(figures.firstSize, ref.firstSize)} | ${fixed(median(figures.second))}${ratio(median(figures.second), median(ref.second))} | ${figures.secondAdded} | ${fixed(median(figures.restore))}${ratio(median(figures.restore), median(ref.restore))} | ${fixed(median(figures.growthAdded) / MiB, 2)} MiB of a ${fixed(figures.history / MiB, 0)} MiB history | ${figures.bigFile === undefined ? '–' : `${fixed(figures.bigFile.seconds)}, ${fixed(figures.bigFile.peakRssMiB, 0)}`} |`,
      );
    }
    lines.push(
      '',
      `restic ${execFileSync('restic', ['version'], { encoding: 'utf8' }).split(' ')[1]}: \`restic init\`, \`backup --json\`, \`restore ID --target OUT\`, RESTIC_CACHE_DIR in the bench's directory. Strongroom: \`strongroom backup create PATH --to REPO --key-file K --json\` and \`backup restore --from REPO --id ID --to OUT --key-file K\` (the compiled CLI, \`node dist/src/cli/main.js\`, as \`npx strongroom\` runs it, start-up included). Store sizes are the bytes of the repository directory's files. The chat history: a 24 MiB database plus eight 5 MiB media files of random bytes, grown 1 % a day for 7 days (half appended to the database, half a new media file), one backup a day.`,
    );
    return lines.join('\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
