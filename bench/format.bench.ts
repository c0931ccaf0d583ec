// Backup stream speed and memory (docs/BENCHMARKS.md "Backup stream"): encrypt and
// decrypt of a 1 GiB file in /dev/shm to /dev/null, against `age` (X25519 recipient) and `openssl
// speed -evp aes-256-gcm -bytes 65536` in the same run; medians of several rounds, interleaved so
// that the machine's noise hits every contender alike. Then the peak RSS of `strongroom backup
// create` of a 4 GiB file, from /usr/bin/time -v.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { cryptStream, planCrypt } from '../src/cli/commands/crypt.ts';
import { writeAllTo } from '../src/client/node/file-io.ts';
import { nodeCrypto } from '../src/client/node/node-crypto.ts';
import { BackupKey } from '../src/format/key.ts';
import { buildCli } from './compiled-cli.ts';
import { fixed, median } from './stats.ts';

const GiB = 2 ** 30;
const ROUNDS = 5;

function run(command: string, args: string[]): Promise<{ seconds: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ seconds: (performance.now() - started) / 1000, stderr });
    });
  });
}

/** Wall-clock seconds and CPU seconds (user + system, every thread) of one run. */
interface Cost {
  wall: number;
  cpu: number;
}

async function timed(work: () => Promise<unknown>): Promise<Cost> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
}

/** Runs a command under /usr/bin/time for its wall-clock and CPU seconds. */
async function timedCommand(command: string, args: string[]): Promise<Cost> {
  const { stderr } = await run('/usr/bin/time', ['-f', 'cost %e %U %S', command, ...args]);
  const [, wall, user, system] = /cost ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(stderr)!.map(Number) as number[];
  return { wall: wall!, cpu: user! + system! };
}

/**
 * Encrypts or decrypts the file `input` into `output` exactly as `strongroom encrypt|decrypt
 * --threads N -o OUTPUT INPUT` does once started (src/cli/commands/crypt.ts planCrypt).
 */
async function strongroom(
  direction: 'encrypt' | 'decrypt',
  key: BackupKey,
  input: string,
  output: string,
  threads: number,
) {
  const out = await open(output, 'w');
  const { crypto, source, close } = planCrypt(direction, input, GiB, threads);
  try {
    await writeAllTo(out, cryptStream(direction, source, key, crypto));
  } finally {
    await close();
    await out.close();
  }
}

async function writeRandomFile(path: string, bytes: number) {
  const out = await open(path, 'w');
  const block = nodeCrypto.randomBytes(64 * 2 ** 20);
  for (let written = 0; written < bytes; written += block.length) await out.write(block);
  await out.close();
}

/**
 * `openssl speed` in bytes per second: by default it divides by CPU time (its own single thread);
 * with -elapsed, by wall-clock time, which is what the other figures here use.
 */
function opensslSpeed(elapsed: boolean): number {
  const args = [
    'speed',
    ...(elapsed ? ['-elapsed'] : []),
    '-evp',
    'aes-256-gcm',
    '-bytes',
    '65536',
    '-seconds',
    '3',
  ];
  const text = execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const match = /AES-256-GCM\s+([\d.]+)k\s*$/m.exec(text);
  if (match === null) throw new Error(`cannot read openssl speed output:\n${text}`);
  return Number(match[1]) * 1000; // openssl's "k" is 1000 bytes per second
}

export default async function (): Promise<string> {
  const before = loadavg();
  const dir = `/dev/shm/strongroom-bench-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  try {
    const plain = `${dir}/plain.bin`;
    const sealed = `${dir}/plain.srb`;
    const aged = `${dir}/plain.age`;
    await writeRandomFile(plain, GiB);
    const key = BackupKey.generate(nodeCrypto.randomBytes);
    writeFileSync(`${dir}/key.txt`, key.format());
    execFileSync('age-keygen', ['-o', `${dir}/age-id.txt`], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', `${dir}/age-id.txt`], { encoding: 'utf8' }).trim();
    const threads = Math.max(2, Math.min(availableParallelism(), 4)); // workers, even on 2 cores
    await strongroom('encrypt', key, plain, sealed, threads);
    await run('age', ['-r', recipient, '-o', aged, plain]);
    const cli = buildCli(dir);
    const command = (direction: string, input: string) =>
      timedCommand(process.execPath, [
        ...cli,
        direction,
        '--key-file',
        `${dir}/key.txt`,
        '-o',
        '/dev/null',
        input,
      ]);

    const costs = {
      enc: [] as Cost[],
      dec: [] as Cost[],
      oneEnc: [] as Cost[],
      oneDec: [] as Cost[],
      cliEnc: [] as Cost[],
      cliDec: [] as Cost[],
      ageEnc: [] as Cost[],
      ageDec: [] as Cost[],
    };
    const openssl = { cpu: [] as number[], wall: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      costs.enc.push(await timed(() => strongroom('encrypt', key, plain, '/dev/null', threads)));
      costs.oneEnc.push(await timed(() => strongroom('encrypt', key, plain, '/dev/null', 1)));
      costs.cliEnc.push(await command('encrypt', plain));
      costs.ageEnc.push(await timedCommand('age', ['-r', recipient, '-o', '/dev/null', plain]));
      costs.dec.push(await timed(() => strongroom('decrypt', key, sealed, '/dev/null', threads)));
      costs.oneDec.push(await timed(() => strongroom('decrypt', key, sealed, '/dev/null', 1)));
      costs.cliDec.push(await command('decrypt', sealed));
      costs.ageDec.push(
        await timedCommand('age', ['-d', '-i', `${dir}/age-id.txt`, '-o', '/dev/null', aged]),
      );
      if (round < 3) {
        openssl.cpu.push(opensslSpeed(false));
        openssl.wall.push(opensslSpeed(true));
      }
    }
    rmSync(sealed);
    rmSync(aged);
    rmSync(plain);

    // Peak RSS of a 4 GiB backup (a sparse file: memory does not depend on the content), by the
    // compiled CLI as `npx strongroom` runs it (tsx alone would add ~40 MiB), next to the RSS of
    // `strongroom keygen`: the difference is what the backup pipeline itself holds.
    const big = `${dir}/big.bin`;
    const handle = await open(big, 'w');
    await handle.truncate(4 * GiB);
    await handle.close();
    const peakRss = async (args: string[]) => {
      const { stderr, seconds } = await run('/usr/bin/time', ['-v', process.execPath, ...cli, ...args]);
      return { mib: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) / 1024, seconds };
    };
    const baseline = await peakRss(['keygen']);
    // Start-up: the CLI imports only the command group it runs (src/cli/command-groups.ts).
    const startup = { keygen: [] as number[], help: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      startup.keygen.push((await run(process.execPath, [...cli, 'keygen'])).seconds);
      startup.help.push((await run(process.execPath, [...cli, '--help'])).seconds);
    }
    const backup = await peakRss([
      'backup',
      'create',
      big,
      '--key-file',
      `${dir}/key.txt`,
      '--to',
      `${dir}/store`,
    ]);
    key.destroy();

    const rate = (runs: Cost[], kind: keyof Cost) => GiB / median(runs.map((run) => run[kind]));
    const mb = (bytesPerSecond: number) => fixed(bytesPerSecond / 1e6, 0);
    const mark = (ratio: number, goal: number) => `${fixed(ratio)} ${ratio >= goal ? '✓' : '✗'}`;
    const row = (op: string, kind: keyof Cost, sr: Cost[], age: Cost[]) => {
      const [ours, theirs, reference] = [rate(sr, kind), rate(age, kind), median(openssl[kind])];
      return `| ${op} | ${kind === 'wall' ? 'wall clock' : 'CPU time'} | ${mb(ours)} | ${mb(theirs)} | ${mark(ours / theirs, 2)} | ${mb(reference)} | ${mark(ours / reference, 0.6)} |`;
    };
    const seconds = (runs: Cost[]) => runs.map((run) => `${fixed(run.wall)}/${fixed(run.cpu)}`).join(', ');
    const lines = [
      '## Backup stream',
      '',
      `A 1 GiB random file in /dev/shm encrypted and decrypted to /dev/null, medians of ${ROUNDS} interleaved rounds. "Strongroom" runs in the bench process exactly what \`strongroom encrypt|decrypt -o OUT IN\` runs once started (planCrypt in src/cli/commands/crypt.ts): the file read in chunk-sized blocks into a reused ring of shared buffers, AES-GCM on ${threads} worker threads (\`--threads ${threads}\`; the default from 4 cores up) that seal or open the blocks in place, writes gathered into writev. "1 thread" is the same with \`--threads 1\` (AES-GCM on the main thread, the default below 4 cores). "Whole command" times the compiled CLI process (\`node dist/src/cli/main.js encrypt --key-file K -o /dev/null IN\`, start-up included) under /usr/bin/time, as age is timed. age 1.x with an X25519 recipient (\`age -r\` / \`age -d -i\`). openssl: median of 3 runs of \`openssl speed -evp aes-256-gcm -bytes 65536 -seconds 3\`, whose default figure divides by CPU time, and of the same with \`-elapsed\` (wall clock). "Wall clock" rows compare wall-clock figures; "CPU time" rows compare bytes per CPU-second (every thread counted), which a shared, loaded machine distorts less. Load average before: ${before.map((l) => fixed(l, 1)).join(', ')}.`,
      '',
      '| operation | measure | Strongroom MB/s | age MB/s | vs age (goal ≥ 2) | openssl speed MB/s | vs openssl (goal ≥ 0.6) |',
      '|---|---|---|---|---|---|---|',
      row('encrypt, 1 thread', 'wall', costs.oneEnc, costs.ageEnc),
      row('encrypt, 1 thread', 'cpu', costs.oneEnc, costs.ageEnc),
      row('decrypt, 1 thread', 'wall', costs.oneDec, costs.ageDec),
      row('decrypt, 1 thread', 'cpu', costs.oneDec, costs.ageDec),
      row(`encrypt, ${threads} workers`, 'wall', costs.enc, costs.ageEnc),
      row(`encrypt, ${threads} workers`, 'cpu', costs.enc, costs.ageEnc),
      row(`decrypt, ${threads} workers`, 'wall', costs.dec, costs.ageDec),
      row(`decrypt, ${threads} workers`, 'cpu', costs.dec, costs.ageDec),
      row('encrypt, whole command', 'wall', costs.cliEnc, costs.ageEnc),
      row('decrypt, whole command', 'wall', costs.cliDec, costs.ageDec),
      '',
      `Peak RSS of \`strongroom backup create\` of a 4 GiB file to a directory store (compiled CLI, /usr/bin/time -v): ${fixed(backup.mib, 0)} MiB (goal ≤ 128) ${backup.mib <= 128 ? '✓' : '✗'}, against ${fixed(baseline.mib, 0)} MiB for \`strongroom keygen\` (the CLI with only the keygen group loaded); it took ${fixed(backup.seconds, 1)} s (${mb((4 * GiB) / backup.seconds)} MB/s including process start).`,
      '',
      `CLI start-up (compiled, wall clock, median of ${ROUNDS}): \`strongroom keygen\` ${fixed(median(startup.keygen))} s, \`strongroom --help\` (every group loaded) ${fixed(median(startup.help))} s.`,
      '',
      `Raw wall/CPU seconds — Strongroom 1 thread encrypt ${seconds(costs.oneEnc)}; decrypt ${seconds(costs.oneDec)}; workers ${seconds(costs.enc)}; ${seconds(costs.dec)}; whole command ${seconds(costs.cliEnc)}; ${seconds(costs.cliDec)}; age encrypt ${seconds(costs.ageEnc)}; decrypt ${seconds(costs.ageDec)}. Load average at the end: ${loadavg()
        .map((l) => fixed(l, 1))
        .join(', ')}.`,
    ];
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
