// `strongroom encrypt` and `strongroom decrypt` (README "CLI"): one file or stdin to one backup
// stream or stdout and back. With -o, the output appears only once complete — for decrypt, only
// after the final chunk verified (DESIGN section 2).
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { writeFileAtomically } from '../../client/node/atomic-file.ts';
import { ENCRYPT_RING, readFileBlocks } from '../../client/node/file-io.ts';
import { nodeCrypto } from '../../client/node/node-crypto.ts';
import { StrongroomError } from '../../errors.ts';
import { DEFAULT_CHUNK_SIZE } from '../../format/header.ts';
import type { BackupKey } from '../../format/key.ts';
import { decryptStream, encryptStream } from '../../format/stream.ts';
import { createProgress } from '../progress.ts';
import { type KeyOptions, resolveKey } from './options.ts';

interface CryptOptions extends KeyOptions {
  output?: string;
}

type Transform = (input: AsyncIterable<Uint8Array>, key: BackupKey) => AsyncIterable<Uint8Array>;

const encrypt: Transform = (input, key) => encryptStream(input, key, { crypto: nodeCrypto });
const decrypt: Transform = (input, key) => decryptStream(input, key, { crypto: nodeCrypto });

// Encryption reads chunk-sized blocks into a reused ring (file-io.ts); decryption's chunks straddle
// blocks and their size comes from the header, so it reads into fresh blocks.
const readToEncrypt = (path: string) => readFileBlocks(path, DEFAULT_CHUNK_SIZE, ENCRYPT_RING);
const readToDecrypt = (path: string) => readFileBlocks(path);

export function registerCrypt(program: Command): void {
  for (const [name, transform, read, what] of [
    ['encrypt', encrypt, readToEncrypt, 'encrypt IN (or stdin) into a backup stream on OUT (or stdout)'],
    [
      'decrypt',
      decrypt,
      readToDecrypt,
      'decrypt a backup stream; with -o, OUT appears only if the whole stream verifies',
    ],
  ] as const) {
    program
      .command(name)
      .description(what)
      .argument('[IN]', 'input file (stdin when absent)')
      .option('--key-file <file>', 'file holding the backup key (else STRONGROOM_KEY)')
      .option('-o, --output <file>', 'output file (stdout when absent)')
      .action((input: string | undefined, options: CryptOptions) =>
        run(transform, read, name, input, options),
      );
  }
}

async function run(
  transform: Transform,
  read: (path: string) => AsyncIterable<Uint8Array>,
  label: string,
  input: string | undefined,
  options: CryptOptions,
) {
  const key = await resolveKey(options);
  try {
    const total = input === undefined ? 0 : await sizeOf(input);
    const progress = createProgress(label);
    let done = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      const source = input === undefined ? process.stdin : read(input);
      for await (const piece of source) {
        done += piece.length;
        progress.update(done, total);
        yield piece;
      }
    }
    try {
      const output = transform(counted(), key);
      if (options.output === undefined) await pipeline(output, process.stdout);
      else await writeFileAtomically(options.output, output);
    } finally {
      progress.stop();
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
