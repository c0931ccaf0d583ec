// Where CLI commands get their key and their store from (README "CLI"): the key from --key-file or
// STRONGROOM_KEY — never from the command line itself, which other users can read in the process
// list — and the store from a STORE argument. Commands call these and nothing else to get either.
import { readFile } from 'node:fs/promises';
import { StrongroomError, UsageError } from '../../errors.ts';
import { BackupKey } from '../../format/key.ts';
import type { BlobStore } from '../../stores/blob/blob-store.ts';
import { openBlobStore } from '../../stores/blob/open.ts';

export interface KeyOptions {
  keyFile?: string;
}

/** The backup key from `--key-file`, else STRONGROOM_KEY; a UsageError names the source at fault. */
export async function resolveKey(options: KeyOptions): Promise<BackupKey> {
  if (options.keyFile !== undefined) {
    let text: string;
    try {
      text = await readFile(options.keyFile, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read key file '${options.keyFile}': ${(error as NodeJS.ErrnoException).code}`,
      );
    }
    return parseKeyFrom(`key file '${options.keyFile}'`, text);
  }
  const fromEnv = process.env.STRONGROOM_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return parseKeyFrom('STRONGROOM_KEY', fromEnv);
  throw new UsageError('no backup key given', {
    hints: ['pass --key-file FILE or set STRONGROOM_KEY; `strongroom keygen > FILE` makes a new key'],
  });
}

function parseKeyFrom(source: string, text: string): BackupKey {
  try {
    return BackupKey.parse(text);
  } catch (error) {
    if (error instanceof StrongroomError)
      throw new UsageError(`${source}: ${error.message}`, { hints: error.hints });
    throw error;
  }
}

export interface StoreOptions {
  s3Endpoint?: string;
}

/** The blob store a STORE argument names; `flag` is the option it came from, for the message. */
export function resolveStore(
  spec: string | undefined,
  flag: string,
  options: StoreOptions,
): Promise<BlobStore> {
  if (spec === undefined || spec === '') {
    throw new UsageError(`no store given: pass ${flag} STORE (a directory or s3://bucket/prefix)`);
  }
  return openBlobStore(spec, { s3Endpoint: options.s3Endpoint });
}
