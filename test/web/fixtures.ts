// Backups for the web page's tests, made by the real SDK (createBackup into a directory store) from
// a small tree on disk: files spanning several chunks, an empty file, a nested directory, a symlink.
import { createHash, randomBytes } from 'node:crypto';
import { lutimes, mkdir, mkdtemp, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackup } from '../../src/client/node/backup.ts';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { BackupKey } from '../../src/format/key.ts';
import { DirectoryBlobStore } from '../../src/stores/blob/directory.ts';

/** Small chunks so a few hundred KiB make many chunks. */
export const CHUNK_SIZE = 4096;

export interface ExpectedEntry {
  readonly path: string;
  readonly kind: 'file' | 'directory' | 'symbolic link';
  readonly size?: number;
  /** "YYYY-MM-DD HH:MM:SS" UTC, as the page shows it. */
  readonly modified: string;
  readonly sha256?: string;
}

export interface SampleBackup {
  readonly dir: string;
  /** The .srb file. */
  readonly file: string;
  readonly key: BackupKey;
  readonly entries: readonly ExpectedEntry[];
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const MTIME = new Date('2026-03-04T05:06:07Z');

/** Makes the sample tree under a fresh directory and backs it up; `compress` deflates the archive. */
export async function makeSampleBackup(options: { compress: boolean }): Promise<SampleBackup> {
  const dir = await mkdtemp(join(tmpdir(), 'strongroom-web-'));
  const root = join(dir, 'chat');
  await mkdir(join(root, 'media'), { recursive: true });
  const contents: Record<string, Uint8Array> = {
    'chat/messages.txt': new TextEncoder().encode('hello from the backup\n'.repeat(500)),
    'chat/media/photo.bin': randomBytes(CHUNK_SIZE * 37 + 123),
    'chat/media/empty.bin': new Uint8Array(0),
  };
  for (const [path, bytes] of Object.entries(contents)) await writeFile(join(dir, path), bytes);
  await symlink('media/photo.bin', join(root, 'latest'));
  for (const path of Object.keys(contents)) await utimes(join(dir, path), MTIME, MTIME);
  await lutimes(join(root, 'latest'), MTIME, MTIME);
  for (const path of ['chat/media', 'chat']) await utimes(join(dir, path), MTIME, MTIME);
  const key = BackupKey.generate(nodeCrypto.randomBytes);
  const store = join(dir, 'store');
  const { id } = await createBackup([root], {
    key,
    store: new DirectoryBlobStore(store),
    compress: options.compress,
    chunkSize: CHUNK_SIZE,
  });
  const modified = '2026-03-04 05:06:07';
  const file = (path: string): ExpectedEntry => ({
    path,
    kind: 'file',
    size: contents[path]!.length,
    modified,
    sha256: sha256(contents[path]!),
  });
  return {
    dir,
    file: join(store, `${id}.srb`),
    key,
    entries: [
      { path: 'chat', kind: 'directory', modified },
      { path: 'chat/latest', kind: 'symbolic link', modified },
      { path: 'chat/media', kind: 'directory', modified },
      file('chat/media/empty.bin'),
      file('chat/media/photo.bin'),
      file('chat/messages.txt'),
    ],
  };
}

/** A copy of `file` with one bit flipped at `offset` (negative: from the end). */
export async function damagedCopy(file: string, offset: number, into: string): Promise<string> {
  const bytes = await readFile(file);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at]! ^= 0x01;
  await writeFile(into, bytes);
  return into;
}
