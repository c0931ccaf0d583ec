// `strongroom encrypt` and `strongroom decrypt` (README "CLI"): one file or stdin to one backup
// stream or stdout and back. With -o, the output appears only once complete — for decrypt, only
// after the final chunk verified (docs/FORMAT.md §5).
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { writeFileAtomically } from '../../client/node/atomic-file.ts';
import { readBackupBlocks, readFileBlocks, ringFor } from '../../client/node/file-io.ts';
import { nodeCrypto } from '../../client/node/node-crypto.ts';
import { createWorkerCrypto } from '../../client/node/worker-crypto.ts';
import { StrongroomError, UsageError } from '../../errors.ts';
import type { FormatCrypto } from '../../format/crypto.ts';
import { DEFAULT_CHUNK_SIZE } from '../../format/header.ts';
import type { BackupKey } from '../../format/key.ts';
import { DEFAULT_IN_FLIGHT, decryptStream, encryptStream } from '../../format/stream.ts';
import { removeUnfinishedOnInterrupt } from '../interrupt.ts';
import { createProgress } from '../progress.ts';
import { type KeyOptions, resolveKey } from './options.ts';

interface CryptOptions extends KeyOptions {
  output?: string;
  threads: number;
}

type Direction = 'encrypt' | 'decrypt';

/**
 * Files at least this large are sealed or opened on worker threads (when --threads > 1): below it
 * the threads' start-up (~30 ms) costs more than they save.
 */
const WORKERS_FROM_BYTES = 16 * 2 ** 20;
/**
 * Worker threads only where at least three cores are left for them: on two cores the main thread's
 * own share (reads, GC, writes) already fills the second core, and the hand-offs to workers cost
 * more CPU than they free (docs/BENCHMARKS.md "Backup stream").
 */
const cores = availableParallelism();
const DEFAULT_THREADS = cores >= 4 ? Math.min(cores - 1, 4) : 1;

function parseThreads(value: string): number {
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64)
    throw new InvalidArgumentError('expected a whole number of threads from 1 to 64');
  return threads;
}

export function registerCrypt(program: Command): void {
  for (const [direction, what] of [
    ['encrypt', 'encrypt IN (or stdin) into a backup stream on OUT (or stdout)'],
    ['decrypt', 'decrypt a backup stream; with -o, OUT appears only if the whole stream verifies'],
  ] as const) {
    program
      .command(direction)
      .description(what)
      .argument('[IN]', 'input file (stdin when absent)')
      .option('--key-file <file>', 'file holding the backup key (else STRONGROOM_KEY)')
      .option('-o, --output <file>', 'output file (stdout when absent)')
      .option(
        '--threads <n>',
        'worker threads that run AES-GCM for a file IN of 16 MiB or more (1: on the main thread)',
        parseThreads,
        DEFAULT_THREADS,
      )
      .action((input: string | undefined, options: CryptOptions) => run(direction, input, options));
  }
}

/**
 * Where the bytes come from and which crypto runs them. A file is read in blocks of one chunk each
 * into a reused ring (file-io.ts), shared with the worker threads when it is large enough to use
 * them, so no chunk is copied between threads; stdin is read as it comes, on the main thread.
 */
export function planCrypt(direction: Direction, input: string | undefined, size: number, threads: number) {
  if (input === undefined) return { crypto: nodeCrypto, source: process.stdin, close: async () => {} };
  const workers = threads > 1 && size >= WORKERS_FROM_BYTES ? createWorkerCrypto(threads) : null;
  const crypto: FormatCrypto = workers ?? nodeCrypto;
  const options = { ring: ringFor(workers?.inFlight ?? DEFAULT_IN_FLIGHT), shared: workers !== null };
  const source =
    direction === 'encrypt'
      ? readFileBlocks(input, { ...options, blockSize: DEFAULT_CHUNK_SIZE })
      : readBackupBlocks(input, options);
  return { crypto, source, close: async () => workers?.close() };
}

/** The backup stream of `source` (encrypt) or its plaintext (decrypt). */
export function cryptStream(
  direction: Direction,
  source: AsyncIterable<Uint8Array>,
  key: BackupKey,
  crypto: FormatCrypto,
): AsyncIterable<Uint8Array> {
  return direction === 'encrypt'
    ? encryptStream(source, key, { crypto })
    : decryptStream(source, key, { crypto });
}

async function run(direction: Direction, input: string | undefined, options: CryptOptions) {
  // A backup stream is binary: on a terminal it is garbage, and can even drive the terminal (as age).
  if (direction === 'encrypt' && options.output === undefined && process.stdout.isTTY) {
    throw new UsageError('refusing to write a binary backup stream to a terminal', {
      hints: ['pass -o FILE, or redirect stdout: strongroom encrypt ... > FILE'],
    });
  }
  removeUnfinishedOnInterrupt();
  const key = await resolveKey(options);
  try {
    const total = input === undefined ? 0 : await sizeOf(input);
    const { crypto, source, close } = planCrypt(direction, input, total, options.threads);
    const progress = createProgress(direction, { stdoutBusy: options.output === undefined });
    let done = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const piece of source) {
        done += piece.length;
        progress.update(done, total);
        yield piece;
      }
    }
    try {
      const output = cryptStream(direction, counted(), key, crypto);
      if (options.output === undefined) await pipeline(output, process.stdout);
      else await writeFileAtomically(options.output, output);
    } finally {
      progress.stop();
      await close();
    }
  } finally {
    key.destroy(); // the key's life ends with the command
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw new StrongroomError(`cannot read '${path}': ${(error as NodeJS.ErrnoException).code}`);
  }
}
