// Reads verified blobs and trees of a repository (docs/FORMAT.md §12.5, §12.7). Browser-safe, so
// the web page can restore from a repository with the same code. Packs are read whole and the
// last few kept, since the chunks of one file are mostly in the same pack, in order.
import { DamagedBackupError } from '../../errors.ts';
import { BlobNotFoundError } from '../../stores/blob/blob-store.ts';
import { ObjectType } from './objects.ts';
import { type Repository, type RepositoryIndex, readWhole } from './repository.ts';
import { decodeTree, type Tree } from './tree.ts';

/** Packs kept: a few files restored side by side may each be in a pack of their own. */
const CACHED_PACKS = 3;

export class RepositoryReader {
  private readonly packs = new Map<string, Promise<Uint8Array>>();

  private constructor(
    readonly repository: Repository,
    readonly index: RepositoryIndex,
  ) {}

  static async open(repository: Repository): Promise<RepositoryReader> {
    return RepositoryReader.withIndex(repository, (await repository.loadIndex()).index);
  }

  /** A reader over an index already loaded (a writer's), so a backup does not load it twice. */
  static withIndex(repository: Repository, index: RepositoryIndex): RepositoryReader {
    return new RepositoryReader(repository, index);
  }

  /**
   * Every blob the snapshots whose root trees are `roots` use: their trees and the chunks of their
   * files, each tree read once however many snapshots share it (prune's and retention's measure
   * of what stays, §12.14).
   */
  async blobsUsedBy(roots: Iterable<string>): Promise<Set<string>> {
    const used = new Set<string>();
    const walk = async (treeId: string): Promise<void> => {
      if (used.has(treeId)) return;
      used.add(treeId);
      for (const entry of (await this.tree(treeId)).entries) {
        if (entry.kind === 'dir') await walk(entry.tree!);
        for (const id of entry.content ?? []) used.add(id);
      }
    };
    for (const root of roots) await walk(root);
    return used;
  }

  /** The verified plaintext of blob `id` of `type`; DamagedBackupError when absent or not authentic. */
  async blob(id: string, type: typeof ObjectType.chunk | typeof ObjectType.tree): Promise<Uint8Array> {
    const location = this.index.get(id);
    if (location === undefined)
      throw new DamagedBackupError(`blob ${id.slice(0, 16)}… is in no index (dropped?)`);
    if (location.type !== type) throw new DamagedBackupError(`blob ${id.slice(0, 16)}… has the wrong type`);
    return this.repository.openBlob(id, location, await this.pack(location.pack));
  }

  tree(id: string): Promise<Tree> {
    return this.blob(id, ObjectType.tree).then((body) => decodeTree(body, `tree ${id.slice(0, 16)}…`));
  }

  /** A pack's bytes; concurrent reads of one pack (files restored side by side) share one fetch. */
  private pack(name: string): Promise<Uint8Array> {
    const cached = this.packs.get(name);
    if (cached !== undefined) return cached;
    const fetched = readWhole(this.repository.store, name).catch((error: unknown) => {
      if (this.packs.get(name) === fetched) this.packs.delete(name);
      if (error instanceof BlobNotFoundError) {
        throw new DamagedBackupError(`pack ${name} is listed in an index but missing from the store`);
      }
      throw error;
    });
    if (this.packs.size >= CACHED_PACKS) this.packs.delete(this.packs.keys().next().value as string);
    this.packs.set(name, fetched);
    return fetched;
  }
}
