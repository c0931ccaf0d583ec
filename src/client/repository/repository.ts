// A deduplicating repository in a BlobStore (docs/FORMAT.md §12): chunks and trees sealed into
// packs, indexes saying which pack holds which blob, and snapshots naming a root tree. Browser-safe:
// it takes a BlobStore and a FormatCrypto and nothing else, so the web page and ChatD's storage can
// use it as the CLI does.
import { DamagedBackupError, StrongroomError } from '../../errors.ts';
import { type Aead, concatBytes, constantTimeEqual, type FormatCrypto } from '../../format/crypto.ts';
import type { BackupKey } from '../../format/key.ts';
import { fromHex, toHex } from '../../protocol/vault/bytes.ts';
import { BlobNotFoundError, type BlobStore } from '../../stores/blob/blob-store.ts';
import { type ChunkCompression, type ChunkDecompression, fzstdDecompression } from './compression.ts';
import {
  deriveRepositoryKeys,
  destroyRepositoryKeys,
  REPOSITORY_ID_LENGTH,
  type RepositoryKeys,
} from './keys.ts';
import {
  checkKey,
  decodeConfig,
  encodeConfig,
  NONCE_LENGTH,
  ObjectType,
  openObject,
  sealObject,
} from './objects.ts';

export const CONFIG_NAME = 'repo.config';
export const PACK_PREFIX = 'repo.pack.';
export const INDEX_PREFIX = 'repo.index.';
export const SNAPSHOT_PREFIX = 'repo.snapshot.';

/** A pack is closed once its blobs reach this many bytes (§12.5). */
export const PACK_TARGET_SIZE = 16 * 1024 * 1024;
/** Packs are padded to a multiple of this, so a pack's size does not give away one chunk's (§12.5). */
export const PACK_PADDING_UNIT = 64 * 1024;
/** id(32) || type(1) || offset(4) || length(4) || plain length(4), big-endian. */
const PACK_ENTRY_LENGTH = 45;

/** Where a blob is: in which pack, at which bytes. */
export interface BlobLocation {
  readonly pack: string;
  readonly type: typeof ObjectType.chunk | typeof ObjectType.tree;
  readonly offset: number;
  readonly length: number;
  readonly plainLength: number;
}

export interface PackEntry extends BlobLocation {
  readonly id: string;
}

/** A snapshot as stored (§12.7). */
export interface SnapshotBody {
  readonly time: string;
  readonly paths: readonly string[];
  /** Hex id of the root tree. */
  readonly tree: string;
  readonly files: number;
  /** Bytes of file content in the snapshot. */
  readonly size: number;
  /** Bytes of packs this snapshot's run uploaded. */
  readonly added: number;
}

export interface SnapshotInfo extends SnapshotBody {
  /** The snapshot's name in the store, without the prefix. */
  readonly id: string;
}

/** A blob body's first byte (§12.5): how its data is stored. */
export const BlobCompression = { stored: 0, zstd: 1 } as const;

export interface RepositoryOptions {
  /**
   * How this platform compresses blobs (libzstd on Node: zstdCompression). Without it the
   * repository still reads compressed blobs (with fzstd) but writes every blob stored as is.
   */
  compression?: ChunkCompression;
}

/** The blobs a repository's indexes list, by hex id. */
export type RepositoryIndex = Map<string, BlobLocation>;

export async function readWhole(store: BlobStore, name: string): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of store.get(name)) pieces.push(piece);
  return concatBytes(pieces);
}

/**
 * True when `id` has a snapshot's form (32 lowercase hex digits, its random name); a single-stream
 * backup's id starts with its time instead (docs/FORMAT.md §7), so the two never mix up.
 */
export function isSnapshotId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id);
}

/** Random lowercase hex for object names: 16 bytes, so concurrent writers never pick the same one. */
function randomName(crypto: FormatCrypto): string {
  return toHex(crypto.randomBytes(16));
}

export class Repository {
  private constructor(
    readonly store: BlobStore,
    readonly crypto: FormatCrypto,
    /** Zeroed by `close`. */
    readonly keys: RepositoryKeys,
    readonly dataAead: Aead,
    readonly metadataAead: Aead,
    /** Compresses blobs for the writer; absent on a platform that only restores (§12.5). */
    readonly compression: ChunkCompression | undefined,
  ) {}

  private get decompression(): ChunkDecompression {
    return this.compression ?? fzstdDecompression;
  }

  /** Opens the repository in `store`, creating it (its config) when the store has none. */
  static async openOrCreate(
    store: BlobStore,
    key: BackupKey,
    crypto: FormatCrypto,
    options: RepositoryOptions = {},
  ): Promise<Repository> {
    try {
      return await Repository.open(store, key, crypto, options);
    } catch (error) {
      if (!(error instanceof BlobNotFoundError)) throw error;
    }
    const repositoryId = crypto.randomBytes(REPOSITORY_ID_LENGTH);
    const keys = await deriveRepositoryKeys(crypto, key, repositoryId);
    const config = await encodeConfig(crypto, { repositoryId, keyCheck: keys.keyCheck });
    await store.put(
      CONFIG_NAME,
      (async function* () {
        yield config;
      })(),
    );
    // Two first runs at once may both write a config; the last rename wins, so read back the one
    // that stays and use it (§12.8).
    return Repository.open(store, key, crypto, options);
  }

  /** Opens an existing repository; WrongKeyError when `key` is not its key, BlobNotFoundError when none. */
  static async open(
    store: BlobStore,
    key: BackupKey,
    crypto: FormatCrypto,
    options: RepositoryOptions = {},
  ): Promise<Repository> {
    const config = await decodeConfig(crypto, await readWhole(store, CONFIG_NAME));
    const keys = await deriveRepositoryKeys(crypto, key, config.repositoryId);
    checkKey(config, keys.keyCheck);
    return new Repository(
      store,
      crypto,
      keys,
      await crypto.aes256Gcm(keys.dataKey),
      await crypto.aes256Gcm(keys.metadataKey),
      options.compression,
    );
  }

  /**
   * The same repository reached through `store` (a view over this one's store, e.g. measureUpload's,
   * which stores nothing). It shares this repository's keys: close this one, not the view.
   */
  through(store: BlobStore): Repository {
    return new Repository(store, this.crypto, this.keys, this.dataAead, this.metadataAead, this.compression);
  }

  /** The keyed id of a blob's plaintext (§12.2): HMAC-SHA256 under the chunk-id key. */
  async blobId(plain: Uint8Array): Promise<Uint8Array> {
    return this.crypto.hmacSha256(this.keys.chunkIdKey, plain);
  }

  /**
   * Reads and opens every index; a blob listed twice keeps its first location in `index`.
   * `indexedPacks` has every entry the indexes list, by pack (prune weighs each pack by them).
   */
  async loadIndex(): Promise<{ index: RepositoryIndex; indexedPacks: Map<string, PackEntry[]> }> {
    const index: RepositoryIndex = new Map();
    const indexedPacks = new Map<string, PackEntry[]>();
    for (const info of await this.store.list(INDEX_PREFIX)) {
      const body = await openObject(
        this.metadataAead,
        await readWhole(this.store, info.name),
        ObjectType.index,
        info.name,
        `index ${info.name}`,
      );
      for (const entry of parseIndexBody(body, info.name)) {
        const listed = indexedPacks.get(entry.pack);
        if (listed === undefined) indexedPacks.set(entry.pack, [entry]);
        else listed.push(entry);
        if (!index.has(entry.id)) index.set(entry.id, entry);
      }
    }
    return { index, indexedPacks };
  }

  /** Reads a pack's header (its trailer): the blobs it holds. */
  async readPackHeader(pack: string, bytes?: Uint8Array): Promise<PackEntry[]> {
    const data = bytes ?? (await readWhole(this.store, pack));
    const what = `pack ${pack}`;
    if (data.length < 4) throw new DamagedBackupError(`${what} is damaged: too short`);
    const headerLength = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(
      data.length - 4,
    );
    if (headerLength > data.length - 4) throw new DamagedBackupError(`${what} is damaged: bad header length`);
    const sealed = data.subarray(data.length - 4 - headerLength, data.length - 4);
    const body = await openObject(
      this.metadataAead,
      sealed,
      ObjectType.packHeader,
      pack,
      `the header of ${what}`,
    );
    return parsePackHeader(body, pack, data.length - 4 - headerLength);
  }

  /**
   * Reads blob `id` from `packBytes` at `location`, opens it and checks that its plaintext has that
   * keyed id: a blob moved, swapped or taken from another repository fails here (§12.5).
   */
  async openBlob(id: string, location: BlobLocation, packBytes: Uint8Array): Promise<Uint8Array> {
    const what = `blob ${id.slice(0, 16)}… in pack ${location.pack}`;
    if (location.offset + location.length > packBytes.length) {
      throw new DamagedBackupError(`${what} is damaged: the pack is shorter than its index says`);
    }
    const sealed = packBytes.subarray(location.offset, location.offset + location.length);
    const body = await openObject(this.dataAead, sealed, location.type, '', what);
    // body = compression(1) || data (§12.5). A zstd frame is decompressed into at most the index's
    // plain length, so a frame claiming more cannot make the reader allocate it.
    let plain: Uint8Array;
    if (body[0] === BlobCompression.stored) plain = body.subarray(1);
    else if (body[0] === BlobCompression.zstd) {
      try {
        plain = this.decompression.decompress(body.subarray(1), location.plainLength);
      } catch (error) {
        if (!(error instanceof DamagedBackupError)) throw error;
        throw new DamagedBackupError(`${what} is damaged: ${error.message}`, { cause: error });
      }
    } else throw new DamagedBackupError(`${what} uses unknown compression ${body[0]}`);
    if (plain.length !== location.plainLength || !constantTimeEqual(await this.blobId(plain), fromHex(id))) {
      throw new DamagedBackupError(`${what} is not the blob the index names (swapped or forged)`);
    }
    return plain;
  }

  async listSnapshots(): Promise<SnapshotInfo[]> {
    const snapshots: SnapshotInfo[] = [];
    for (const info of await this.store.list(SNAPSHOT_PREFIX))
      snapshots.push(await this.readSnapshot(info.name));
    return snapshots.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  /** Reads snapshot `name` (with or without its prefix). */
  async readSnapshot(name: string): Promise<SnapshotInfo> {
    const full = name.startsWith(SNAPSHOT_PREFIX) ? name : SNAPSHOT_PREFIX + name;
    const bytes = await readWhole(this.store, full).catch((error: unknown) => {
      if (error instanceof BlobNotFoundError)
        throw new StrongroomError(`no snapshot ${JSON.stringify(name)}`);
      throw error;
    });
    const body = await openObject(this.metadataAead, bytes, ObjectType.snapshot, full, `snapshot ${full}`);
    const parsed = parseJson(body, `snapshot ${full}`) as SnapshotBody;
    if (typeof parsed.tree !== 'string' || !Array.isArray(parsed.paths)) {
      throw new DamagedBackupError(`snapshot ${full} is damaged: fields missing`);
    }
    return { ...parsed, id: full.slice(SNAPSHOT_PREFIX.length) };
  }

  /** Seals and stores a JSON object of `type` under `name` (bound to it). */
  async putMetadata(type: ObjectType, name: string, value: unknown): Promise<number> {
    const body = new TextEncoder().encode(JSON.stringify(value));
    const sealed = await sealObject(this.metadataAead, this.crypto.randomBytes(NONCE_LENGTH), type, name, [
      body,
    ]);
    return this.store.put(
      name,
      (async function* () {
        yield* sealed;
      })(),
    );
  }

  newName(prefix: string): string {
    return prefix + randomName(this.crypto);
  }

  /** Forgets the keys; the repository is unusable afterwards. */
  close(): void {
    this.dataAead.destroy?.();
    this.metadataAead.destroy?.();
    destroyRepositoryKeys(this.keys);
  }
}

export function parseJson(body: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw new DamagedBackupError(`${what} is damaged: not valid JSON`, { cause: error });
  }
}

export function encodePackHeader(entries: readonly PackEntry[]): Uint8Array {
  const out = new Uint8Array(4 + entries.length * PACK_ENTRY_LENGTH);
  const view = new DataView(out.buffer);
  view.setUint32(0, entries.length);
  entries.forEach((entry, i) => {
    const at = 4 + i * PACK_ENTRY_LENGTH;
    out.set(fromHex(entry.id), at);
    out[at + 32] = entry.type;
    view.setUint32(at + 33, entry.offset);
    view.setUint32(at + 37, entry.length);
    view.setUint32(at + 41, entry.plainLength);
  });
  return out;
}

function parsePackHeader(body: Uint8Array, pack: string, blobsEnd: number): PackEntry[] {
  const damaged = (why: string) => new DamagedBackupError(`the header of pack ${pack} is damaged: ${why}`);
  if (body.length < 4) throw damaged('too short');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = view.getUint32(0);
  if (body.length !== 4 + count * PACK_ENTRY_LENGTH) throw damaged('its length does not match its count');
  const entries: PackEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = 4 + i * PACK_ENTRY_LENGTH;
    const type = body[at + 32];
    if (type !== ObjectType.chunk && type !== ObjectType.tree) throw damaged(`unknown blob type ${type}`);
    const entry: PackEntry = {
      id: toHex(body.subarray(at, at + 32)),
      pack,
      type,
      offset: view.getUint32(at + 33),
      length: view.getUint32(at + 37),
      plainLength: view.getUint32(at + 41),
    };
    if (entry.offset + entry.length > blobsEnd) throw damaged('a blob lies outside the pack');
    entries.push(entry);
  }
  return entries;
}

/** Index body (§12.6): {"packs": [{"name": pack, "blobs": [[id, type, offset, length, plainLength]…]}…]}. */
export function indexBody(entries: readonly PackEntry[]): unknown {
  const packs = new Map<string, [string, number, number, number, number][]>();
  for (const entry of entries) {
    const blobs = packs.get(entry.pack) ?? [];
    blobs.push([entry.id, entry.type, entry.offset, entry.length, entry.plainLength]);
    packs.set(entry.pack, blobs);
  }
  return { packs: [...packs].map(([name, blobs]) => ({ name, blobs })) };
}

function parseIndexBody(body: Uint8Array, name: string): PackEntry[] {
  const parsed = parseJson(body, `index ${name}`) as { packs?: { name?: unknown; blobs?: unknown }[] };
  const damaged = () => new DamagedBackupError(`index ${name} is damaged: malformed entries`);
  if (!Array.isArray(parsed.packs)) throw damaged();
  const entries: PackEntry[] = [];
  for (const pack of parsed.packs) {
    if (typeof pack.name !== 'string' || !pack.name.startsWith(PACK_PREFIX) || !Array.isArray(pack.blobs)) {
      throw damaged();
    }
    for (const blob of pack.blobs as unknown[]) {
      if (
        !Array.isArray(blob) ||
        blob.length !== 5 ||
        typeof blob[0] !== 'string' ||
        !/^[0-9a-f]{64}$/.test(blob[0])
      ) {
        throw damaged();
      }
      const [id, type, offset, length, plainLength] = blob as [string, number, number, number, number];
      if (
        (type !== ObjectType.chunk && type !== ObjectType.tree) ||
        ![offset, length, plainLength].every(Number.isSafeInteger)
      ) {
        throw damaged();
      }
      entries.push({ id, pack: pack.name, type, offset, length, plainLength });
    }
  }
  return entries;
}
