// Snapshots of paths on disk in a repository, and their restore (docs/BACKUP.md "Repositories";
// docs/FORMAT.md §12): files are cut into content-defined chunks under the repository's gear seed,
// each chunk and each directory's tree stored once, whatever file, directory or snapshot it is in.
import { lstat, mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DamagedBackupError, StrongroomError, UsageError } from '../../errors.ts';
import { removeDeadTemporaries, temporaryName, trackTemporary } from '../../temporaries.ts';
import { ContentDefinedChunker } from '../repository/chunker.ts';
import { ObjectType } from '../repository/objects.ts';
import { RepositoryReader } from '../repository/reader.ts';
import type { Repository, SnapshotInfo } from '../repository/repository.ts';
import { encodeTree, type Tree, type TreeEntry } from '../repository/tree.ts';
import { RepositoryWriter } from '../repository/writer.ts';
import { applyMetadata, applySymlinkMetadata } from './entry-metadata.ts';
import { checkDestination } from './extract.ts';
import { readFileBlocks, writeNewFile } from './file-io.ts';

/** Cuts a byte stream into chunks (ContentDefinedChunker is the one repositories use, §12.12). */
export interface Chunker {
  push(data: Uint8Array): Uint8Array[];
  finish(): Uint8Array | undefined;
}
/** Makes a chunker keyed with the repository's 32-byte gear seed. */
export type ChunkerFactory = (gearSeed: Uint8Array) => Chunker;

const defaultChunker: ChunkerFactory = (gearSeed) => new ContentDefinedChunker(gearSeed);

export interface SnapshotOptions {
  /** The content-defined chunker with its default sizes unless a test says otherwise. */
  chunker?: ChunkerFactory;
  /** Now, unless a test says otherwise. */
  time?: Date;
}

/** Backs up `paths` (each under its base name) as a new snapshot; returns it, with the bytes uploaded. */
export async function createSnapshot(
  repository: Repository,
  paths: readonly string[],
  options: SnapshotOptions = {},
): Promise<SnapshotInfo> {
  const names = new Set<string>();
  for (const path of paths) {
    const name = basename(resolve(path));
    if (names.has(name)) throw new UsageError(`two paths have the base name ${JSON.stringify(name)}`);
    names.add(name);
  }
  const writer = await RepositoryWriter.start(repository);
  const totals = { files: 0, size: 0 };
  const entries: TreeEntry[] = [];
  for (const path of paths)
    entries.push(await storeEntry(writer, resolve(path), basename(resolve(path)), options, totals));
  const tree = await writer.add(ObjectType.tree, encodeTree({ entries: sortEntries(entries) }));
  return writer.commit({
    time: (options.time ?? new Date()).toISOString(),
    paths: paths.map((path) => resolve(path)),
    tree,
    ...totals,
  });
}

function sortEntries(entries: TreeEntry[]): TreeEntry[] {
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function storeEntry(
  writer: RepositoryWriter,
  path: string,
  name: string,
  options: SnapshotOptions,
  totals: { files: number; size: number },
): Promise<TreeEntry> {
  const info = await lstat(path, { bigint: true });
  const common = { name, mode: Number(info.mode & 0o7777n), mtimeNs: String(info.mtimeNs) };
  if (info.isSymbolicLink()) return { ...common, kind: 'symlink', target: await readlink(path) };
  if (info.isDirectory()) {
    const children: TreeEntry[] = [];
    for (const child of (await readdir(path)).sort()) {
      children.push(await storeEntry(writer, join(path, child), child, options, totals));
    }
    return {
      ...common,
      kind: 'dir',
      tree: await writer.add(ObjectType.tree, encodeTree({ entries: children })),
    };
  }
  if (!info.isFile())
    throw new UsageError(`${JSON.stringify(path)} is neither a file, a directory nor a symlink`);
  const chunker = (options.chunker ?? defaultChunker)(writer.repository.keys.gearSeed);
  const content: string[] = [];
  let size = 0;
  for await (const block of readFileBlocks(path)) {
    size += block.length;
    for (const chunk of chunker.push(block)) content.push(await writer.add(ObjectType.chunk, chunk));
  }
  const last = chunker.finish();
  if (last !== undefined && last.length > 0) content.push(await writer.add(ObjectType.chunk, last));
  totals.files++;
  totals.size += size;
  return { ...common, kind: 'file', size, content };
}

export interface RestoreSnapshotOptions {
  /** Snapshot id; the latest when absent. */
  id?: string;
  to: string;
  /** Only this path inside the snapshot ('a/b' under the base names it was given). */
  path?: string;
  force?: boolean;
}

/**
 * Restores a snapshot (or one path in it) into `options.to`. Everything is restored into a
 * temporary directory beside it first and moved into place only once every blob has verified, so
 * a damaged repository leaves nothing behind (docs/BACKUP.md "Repositories").
 */
export async function restoreSnapshot(
  repository: Repository,
  options: RestoreSnapshotOptions,
): Promise<SnapshotInfo> {
  const target = resolve(options.to);
  await checkDestination(target, options.force ?? false);
  const snapshot =
    options.id === undefined ? await latestSnapshot(repository) : await repository.readSnapshot(options.id);
  const reader = await RepositoryReader.open(repository);
  let tree = await reader.tree(snapshot.tree);
  if (options.path !== undefined) {
    const parts = options.path.split('/').filter((part) => part !== '');
    const leaf = parts.pop();
    for (const part of parts) {
      const entry = tree.entries.find((candidate) => candidate.name === part);
      if (entry?.kind !== 'dir') throw new UsageError(`no directory ${JSON.stringify(part)} in the snapshot`);
      tree = await reader.tree(entry.tree!);
    }
    const entry = tree.entries.find((candidate) => candidate.name === leaf);
    if (entry === undefined) throw new UsageError(`no ${JSON.stringify(options.path)} in the snapshot`);
    tree = { entries: [entry] };
  }
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const prefix = `.${basename(target)}.strongroom-restore-`;
  await removeDeadTemporaries(parent, prefix);
  const staging = join(parent, temporaryName(prefix));
  const untrack = trackTemporary(staging);
  try {
    await mkdir(staging, { mode: 0o700 });
    await restoreTree(reader, tree, staging);
    await mkdir(target, { recursive: true });
    for (const entry of tree.entries) {
      if (options.force) await rm(join(target, entry.name), { recursive: true, force: true });
      await rename(join(staging, entry.name), join(target, entry.name));
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
    untrack();
  }
  return snapshot;
}

async function latestSnapshot(repository: Repository): Promise<SnapshotInfo> {
  const snapshots = await repository.listSnapshots();
  const latest = snapshots.at(-1);
  if (latest === undefined) throw new StrongroomError(`no snapshots in ${repository.store.location}`);
  return latest;
}

async function restoreTree(reader: RepositoryReader, tree: Tree, directory: string): Promise<void> {
  for (const entry of tree.entries) {
    const path = join(directory, entry.name);
    const metadata = { mode: entry.mode, mtimeNs: BigInt(entry.mtimeNs) };
    const pathBytes = Buffer.from(path);
    if (entry.kind === 'symlink') {
      await symlink(entry.target!, path);
      await applySymlinkMetadata(pathBytes, metadata);
    } else if (entry.kind === 'dir') {
      await mkdir(path, { mode: 0o700 });
      await restoreTree(reader, await reader.tree(entry.tree!), path);
      await applyMetadata(pathBytes, metadata);
    } else {
      const content = entry.content!;
      const written = await writeNewFile(
        path,
        (async function* () {
          for (const id of content) yield await reader.blob(id, ObjectType.chunk);
        })(),
      );
      if (written !== entry.size) {
        throw new DamagedBackupError(
          `${JSON.stringify(entry.name)} restored ${written} bytes, its tree says ${entry.size}`,
        );
      }
      await applyMetadata(pathBytes, metadata);
    }
  }
}
