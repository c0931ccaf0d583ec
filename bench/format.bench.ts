// Backup stream speed and memory (issue 2 "Speed"; docs/BENCHMARKS.md "Backup stream"): encrypt and
// decrypt of a 1 GiB file in /dev/shm to /dev/null, against `age` (X25519 recipient) and `openssl
// speed -evp aes-256-gcm -bytes 65536` in the same run; medians of several rounds, interleaved so
// that the machine's noise hits every contender alike. Then the peak RSS of `strongroom backup
// create` of a 4 GiB file, from /usr/bin/time -v.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readFileBlocks, writeAllTo } from '../src/client/node/file-io.ts';
import { nodeCrypto } from '../src/client/node/node-crypto.ts';
import { BackupKey } from '../src/format/key.ts';
import { decryptStream, encryptStream } from '../src/format/stream.ts';
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

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

/** Encrypts or decrypts `input` into `output` the way the CLI does with a file argument. */
async function strongroom(direction: 'encrypt' | 'decrypt', key: BackupKey, input: string, output: string) {
  const out = await open(output, 'w');
  try {
    const source = readFileBlocks(input);
    const stream =
      direction === 'encrypt'
        ? encryptStream(source, key, { crypto: nodeCrypto })
        : decryptStream(source, key, { crypto: nodeCrypto });
    await writeAllTo(out, stream);
  } finally {
    await out.close();
  }
}

async function writeRandomFile(path: string, bytes: number) {
  const out = await open(path, 'w');
  const block = nodeCrypto.randomBytes(64 * 2 ** 20);
  for (let written = 0; written < bytes; written += block.length) await out.write(block);
  await out.close();
}

function opensslSpeed(): number {
  const text = execFileSync('openssl', ['speed', '-evp', 'aes-256-gcm', '-bytes', '65536', '-seconds', '3'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const match = /AES-256-GCM\s+([\d.]+)k\s*$/m.exec(text);
  if (match === null) throw new Error(`cannot read openssl speed output:\n${text}`);
  return Number(match[1]) * 1000; // openssl's "k" is 1000 bytes per second
}

/** Compiles the project into `dir` (tsc emits despite type errors elsewhere) and returns the CLI's path. */
function buildCli(dir: string): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = `${root}/node_modules/typescript/bin/tsc`;
  spawnSync(process.execPath, [tsc, '-p', `${root}/tsconfig.json`, '--outDir', `${dir}/build/dist`], {
    stdio: 'ignore',
  });
  copyFileSync(`${root}/package.json`, `${dir}/build/package.json`);
  symlinkSync(`${root}/node_modules`, `${dir}/build/node_modules`);
  return `${dir}/build/dist/src/cli/main.js`;
}

export default async function (): Promise<string> {
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
    await strongroom('encrypt', key, plain, sealed);
    await run('age', ['-r', recipient, '-o', aged, plain]);

    const times = {
      srEnc: [] as number[],
      srDec: [] as number[],
      ageEnc: [] as number[],
      ageDec: [] as number[],
      openssl: [] as number[],
    };
    for (let round = 0; round < ROUNDS; round++) {
      times.srEnc.push(await timed(() => strongroom('encrypt', key, plain, '/dev/null')));
      times.ageEnc.push((await run('age', ['-r', recipient, '-o', '/dev/null', plain])).seconds);
      times.srDec.push(await timed(() => strongroom('decrypt', key, sealed, '/dev/null')));
      times.ageDec.push(
        (await run('age', ['-d', '-i', `${dir}/age-id.txt`, '-o', '/dev/null', aged])).seconds,
      );
      if (round < 3) times.openssl.push(opensslSpeed());
    }
    rmSync(sealed);
    rmSync(aged);
    rmSync(plain);

    // Peak RSS of a 4 GiB backup (a sparse file: memory does not depend on the content), by the
    // compiled CLI as `npx strongroom` runs it (tsx alone would add ~40 MiB), next to the RSS of
    // `strongroom keygen`: the difference is what the backup pipeline itself holds.
    const cli = buildCli(dir);
    const big = `${dir}/big.bin`;
    const handle = await open(big, 'w');
    await handle.truncate(4 * GiB);
    await handle.close();
    const peakRss = async (args: string[]) => {
      const { stderr, seconds } = await run('/usr/bin/time', ['-v', process.execPath, cli, ...args]);
      return { mib: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]) / 1024, seconds };
    };
    const baseline = await peakRss(['keygen']);
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

    const rate = (seconds: number[]) => GiB / median(seconds);
    const mb = (bytesPerSecond: number) => fixed(bytesPerSecond / 1e6, 0);
    const openssl = median(times.openssl);
    const rows = [
      ['encrypt', rate(times.srEnc), rate(times.ageEnc)],
      ['decrypt', rate(times.srDec), rate(times.ageDec)],
    ] as const;
    const lines = [
      '## Backup stream',
      '',
      `1 GiB file in /dev/shm to /dev/null, median of ${ROUNDS} interleaved rounds; openssl: median of 3 runs of \`openssl speed -evp aes-256-gcm -bytes 65536 -seconds 3\` (one core).`,
      '',
      '| operation | Strongroom MB/s | age MB/s | vs age (goal ≥ 2) | openssl speed MB/s | vs openssl (goal ≥ 0.6) |',
      '|---|---|---|---|---|---|',
      ...rows.map(
        ([op, sr, age]) =>
          `| ${op} | ${mb(sr)} | ${mb(age)} | ${fixed(sr / age)} ${sr / age >= 2 ? '✓' : '✗'} | ${mb(openssl)} | ${fixed(sr / openssl)} ${sr / openssl >= 0.6 ? '✓' : '✗'} |`,
      ),
      '',
      `Peak RSS of \`strongroom backup create\` of a 4 GiB file to a directory store (compiled CLI, /usr/bin/time -v): ${fixed(backup.mib, 0)} MiB (goal ≤ 128) ${backup.mib <= 128 ? '✓' : '✗'}, against ${fixed(baseline.mib, 0)} MiB for \`strongroom keygen\` (the CLI with every command group loaded); it took ${fixed(backup.seconds, 1)} s (${mb((4 * GiB) / backup.seconds)} MB/s including process start).`,
      '',
      `Raw seconds — Strongroom encrypt ${times.srEnc.map((s) => fixed(s)).join(', ')}; decrypt ${times.srDec.map((s) => fixed(s)).join(', ')}; age encrypt ${times.ageEnc.map((s) => fixed(s)).join(', ')}; decrypt ${times.ageDec.map((s) => fixed(s)).join(', ')}.`,
    ];
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
