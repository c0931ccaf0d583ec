// Adds blobs to a repository (docs/FORMAT.md §12.5–12.8): each new blob is sealed into the pack
// being filled, which streams to the store as it fills once it is large enough (pack-upload.ts);
// the index naming packs, then the snapshot, are written only after every pack they refer to is
// stored, so an interrupted run leaves packs (which the next run adopts, §12.8) but never an index
// or snapshot pointing at nothing.
import { toHex } from '../../protocol/vault/bytes.ts';
import { NONCE_LENGTH, ObjectType, sealObject } from './objects.ts';
import { PackUpload } from './pack-upload.ts';
import {
  BlobCompression,
  encodePackHeader,
  INDEX_PREFIX,
  indexBody,
  PACK_PADDING_UNIT,
  PACK_PREFIX,
  PACK_TARGET_SIZE,
  type PackEntry,
  type Repository,
  type RepositoryIndex,
  SNAPSHOT_PREFIX,
  type SnapshotBody,
  type SnapshotInfo,
} from './repository.ts';

type BlobType = typeof ObjectType.chunk | typeof ObjectType.tree;

/**
 * A pack being filled: its sealed blobs not yet handed to its upload, as pieces in order, and its
 * entries. Large pieces (a chunk's ciphertext) are kept as they are; small ones (nonces, tags, the
 * blobs of small files) are copied into runs, each a view into one of a few buffers. A pack of
 * small files holds some 100,000 blobs, and a few typed arrays each would cost more memory than
 * the blobs themselves (docs/BENCHMARKS.md "Many small files"); a pack of large chunks would,
 * copied into one buffer, cost two of its own size in garbage while it grows (docs/BENCHMARKS.md
 * "Peak memory").
 */
interface OpenPack {
  readonly pieces: Uint8Array[];
  length: number;
  readonly entries: PackEntry[];
  /** The buffer small pieces are copied into, and how much of it holds bytes of this pack. */
  runBuffer: Uint8Array;
  runEnd: number;
  /** Where in `runBuffer` the run not yet in `pieces` begins. */
  runStart: number;
  /** Its name and streamed upload, once it holds STREAMED_FROM_BYTES. */
  streamed?: { readonly name: string; readonly upload: PackUpload };
}
const emptyPack = (): OpenPack => ({
  pieces: [],
  length: 0,
  entries: [],
  runBuffer: new Uint8Array(0),
  runEnd: 0,
  runStart: 0,
});

/**
 * A pack starts streaming to the store once it holds this much; a smaller one is sent whole when
 * complete. Trees' packs and a run's last pack may stay open for the whole run, and below this
 * size they hold no upload open while they wait (a store may give up on an idle one); a pack of
 * chunks is sent as it grows, so memory holds some 2 MiB of it rather than 16
 * (docs/ARCHITECTURE.md "Memory").
 */
const STREAMED_FROM_BYTES = 2 * 1024 * 1024;

/** Pieces at least this long join a pack without a copy. */
const KEPT_PIECE_BYTES = 64 * 1024;
/** The first buffer of small pieces; each next one is twice as large, up to RUN_BUFFER_MAX. */
const RUN_BUFFER_MIN = 64 * 1024;
const RUN_BUFFER_MAX = 1024 * 1024;

/** Ends the run of small pieces being copied, so that what follows it comes after it. */
function closeRun(pack: OpenPack): void {
  if (pack.runEnd > pack.runStart) pack.pieces.push(pack.runBuffer.subarray(pack.runStart, pack.runEnd));
  pack.runStart = pack.runEnd;
}

/** Appends `pieces` to `pack`. */
function append(pack: OpenPack, pieces: readonly Uint8Array[]): void {
  for (const piece of pieces) {
    pack.length += piece.length;
    if (piece.length >= KEPT_PIECE_BYTES) {
      closeRun(pack);
      pack.pieces.push(piece);
      continue;
    }
    if (pack.runEnd + piece.length > pack.runBuffer.length) {
      // A new buffer rather than a grown one: the views already in `pieces` keep the old one.
      closeRun(pack);
      const size = Math.min(Math.max(RUN_BUFFER_MIN, 2 * pack.runBuffer.length), RUN_BUFFER_MAX);
      pack.runBuffer = new Uint8Array(Math.max(size, piece.length));
      pack.runStart = pack.runEnd = 0;
    }
    pack.runBuffer.set(piece, pack.runEnd);
    pack.runEnd += piece.length;
  }
}

/** Blobs after which a run's index is continued in a new index object (§12.6). */
export const INDEX_PART_BLOBS = 50_000;

/**
 * `entries` (each pack's entries next to each other, as a writer collects them) in parts of whole
 * packs: a part ends at the first pack boundary once it holds `partBlobs` blobs.
 */
export function* indexParts(
  entries: readonly PackEntry[],
  partBlobs = INDEX_PART_BLOBS,
): Generator<readonly PackEntry[]> {
  let start = 0;
  for (let end = 1; end <= entries.length; end++) {
    const boundary = end === entries.length || entries[end]!.pack !== entries[end - 1]!.pack;
    if (boundary && (end - start >= partBlobs || end === entries.length)) {
      yield entries.slice(start, end);
      start = end;
    }
  }
}

const STORED = new Uint8Array([BlobCompression.stored]);
const ZSTD = new Uint8Array([BlobCompression.zstd]);

/** A blob compressed and sealed, waiting for its place in the pack being filled. */
interface SealedBlob {
  readonly id: string;
  readonly type: BlobType;
  readonly plainLength: number;
  readonly sealed: Uint8Array[];
}

export class RepositoryWriter {
  /** Bytes of packs uploaded by this writer (what `added` reports). */
  uploadedBytes = 0;
  /**
   * Chunks and trees fill packs of their own, so the trees a next backup compares against (its
   * parent snapshot's, §12.7) sit in a few packs it reads, not spread through every data pack.
   */
  private readonly open: Record<BlobType, OpenPack> = {
    [ObjectType.chunk]: emptyPack(),
    [ObjectType.tree]: emptyPack(),
  };
  /** Entries of the packs this run stored or adopted: its index. */
  private readonly runEntries: PackEntry[] = [];
  /** Ids added in this run but not yet in `known` through an index. */
  private readonly pending = new Set<string>();
  /** Blobs being sealed, oldest first: they take their place in the pack in this order. */
  private readonly sealing: Promise<SealedBlob>[] = [];
  /** The previous pack's upload finishing, overlapping the filling of the next until it streams. */
  private uploading: Promise<void> | undefined;
  /** The last `add` called: the next one runs after it. */
  private adding: Promise<void> = Promise.resolve();

  private constructor(
    readonly repository: Repository,
    /** The blobs the repository's indexes and adopted packs hold (not those of this run's open packs). */
    readonly known: RepositoryIndex,
  ) {
    // Blobs compressed and sealed at once: as many as the platform's compression or AES-GCM can
    // run side by side (worker threads), each costing up to one chunk of memory; 1 otherwise.
    this.inFlight = Math.max(1, repository.compression?.inFlight ?? 1, repository.dataAead.inFlight ?? 1);
  }

  private readonly inFlight: number;

  /**
   * Starts a writer: loads the indexes, and adopts packs that no index lists (left by an interrupted
   * or concurrent run) whose headers verify, so their blobs are not uploaded again (§12.8).
   */
  static async start(repository: Repository): Promise<RepositoryWriter> {
    const { index, indexedPacks } = await repository.loadIndex();
    const writer = new RepositoryWriter(repository, index);
    for (const info of await repository.store.list(PACK_PREFIX)) {
      if (indexedPacks.has(info.name)) continue;
      let entries: PackEntry[];
      try {
        entries = await repository.readPackHeader(info.name);
      } catch {
        continue; // a pack that does not verify is not adopted; `check` reports it
      }
      for (const entry of entries) {
        writer.runEntries.push(entry);
        if (!index.has(entry.id)) index.set(entry.id, entry);
      }
    }
    return writer;
  }

  /**
   * Adds a blob unless the repository has it; returns its hex id. The blob may still be sealing
   * when this returns (fewer than `inFlight` of them): `commit` waits for all, and an error sealing
   * or uploading one is thrown by a later `add` or by `commit`. Calls may overlap (files read side
   * by side): each runs once the one before has returned, so packs are filled and uploaded one at
   * a time as when calls come one by one.
   */
  add(type: BlobType, plain: Uint8Array): Promise<string> {
    const added = this.adding.then(() => this.addInTurn(type, plain));
    this.adding = added.then(
      () => undefined,
      () => undefined,
    );
    return added;
  }

  private async addInTurn(type: BlobType, plain: Uint8Array): Promise<string> {
    const id = toHex(await this.repository.blobId(plain));
    if (this.known.has(id) || this.pending.has(id)) return id;
    this.pending.add(id);
    const sealing = this.seal(id, type, plain);
    sealing.catch(() => {}); // awaited in turn by placeOldest; until then it must not count as unhandled
    this.sealing.push(sealing);
    while (this.sealing.length >= this.inFlight) await this.placeOldest();
    return id;
  }

  /**
   * A writer for prune's repacking (§12.14): it adopts nothing and takes blobs already sealed,
   * copied from the packs being rewritten (a sealed blob is bound to its id, not to its pack).
   */
  static forRepacking(repository: Repository): RepositoryWriter {
    return new RepositoryWriter(repository, new Map());
  }

  /** Puts a sealed blob, verified by the caller, into the pack being filled (prune's repacking). */
  async addSealed(
    blob: { id: string; type: BlobType; plainLength: number },
    sealed: Uint8Array,
  ): Promise<void> {
    this.sealing.push(
      Promise.resolve({ id: blob.id, type: blob.type, plainLength: blob.plainLength, sealed: [sealed] }),
    );
    while (this.sealing.length > 0) await this.placeOldest();
  }

  /** Compresses the blob when that makes it smaller (§12.5), else stores it as is; seals it. */
  private async seal(id: string, type: BlobType, plain: Uint8Array): Promise<SealedBlob> {
    const { compression, crypto, dataAead } = this.repository;
    // Drawn before the first await, so nonces follow the order blobs were added in.
    const nonce = crypto.randomBytes(NONCE_LENGTH);
    let body = [STORED, plain];
    if (compression !== undefined) {
      const packed = await compression.compress(plain);
      if (packed.length < plain.length) body = [ZSTD, packed];
    }
    return { id, type, plainLength: plain.length, sealed: await sealObject(dataAead, nonce, type, '', body) };
  }

  /** Puts the oldest sealed blob into the pack of its type being filled; uploads that pack once full. */
  private async placeOldest(): Promise<void> {
    const blob = await this.sealing.shift()!;
    let length = 0;
    for (const piece of blob.sealed) length += piece.length;
    const pack = this.open[blob.type];
    pack.entries.push({
      id: blob.id,
      pack: '',
      type: blob.type,
      offset: pack.length,
      length,
      plainLength: blob.plainLength,
    });
    append(pack, blob.sealed);
    if (pack.length >= PACK_TARGET_SIZE) return this.flushPack(blob.type);
    if (pack.streamed === undefined && pack.length >= STREAMED_FROM_BYTES) {
      await this.uploading; // one upload at a time: the store is not asked for two at once
      const name = this.repository.newName(PACK_PREFIX);
      pack.streamed = { name, upload: new PackUpload(this.repository.store, name) };
    }
    if (pack.streamed !== undefined && pack.pieces.length > 0) {
      await pack.streamed.upload.write(pack.pieces.splice(0));
    }
  }

  /**
   * Gives up the packs being streamed, so their stores discard them (a run that failed): the
   * blobs they held are not listed anywhere and are sealed again by the next run.
   */
  abandon(reason: unknown): void {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    for (const pack of Object.values(this.open)) pack.streamed?.upload.abandon(error);
  }

  /**
   * Ends the pack of `type` being filled: blobs || random padding || sealed header || header
   * length(4), sent whole unless it was streaming. Waits for the previous pack's upload to finish
   * first, so one is under way at a time.
   */
  private async flushPack(type: BlobType): Promise<void> {
    const pack = this.open[type];
    if (pack.entries.length === 0) return;
    // Before the pack leaves `open`: should the previous upload have failed, abandon() still finds it.
    await this.uploading;
    this.open[type] = emptyPack();
    const { crypto, metadataAead, store } = this.repository;
    const name = pack.streamed?.name ?? this.repository.newName(PACK_PREFIX);
    const entries = pack.entries.map((entry) => ({ ...entry, pack: name }));
    const header = await sealObject(
      metadataAead,
      crypto.randomBytes(NONCE_LENGTH),
      ObjectType.packHeader,
      name,
      [encodePackHeader(entries)],
    );
    let headerLength = 0;
    for (const piece of header) headerLength += piece.length;
    const unpadded = pack.length + headerLength + 4;
    const padding = crypto.randomBytes(
      (PACK_PADDING_UNIT - (unpadded % PACK_PADDING_UNIT)) % PACK_PADDING_UNIT,
    );
    const trailer = new Uint8Array(4);
    new DataView(trailer.buffer).setUint32(0, headerLength);
    closeRun(pack);
    const upload = pack.streamed?.upload ?? new PackUpload(store, name);
    this.uploading = upload.end([...pack.pieces, padding, ...header, trailer]).then((stored) => {
      this.uploadedBytes += stored;
      // One by one: a pack of small files has more entries than a call may take arguments.
      for (const entry of entries) this.runEntries.push(entry);
    });
    this.uploading.catch(() => {}); // awaited by the next flushPack or by commit
  }

  /** Seals what is in flight and uploads the last pack; returns the entries of this run's packs. */
  async finishPacks(): Promise<readonly PackEntry[]> {
    await this.adding;
    while (this.sealing.length > 0) await this.placeOldest();
    await this.flushPack(ObjectType.chunk);
    await this.flushPack(ObjectType.tree);
    await this.uploading;
    return this.runEntries;
  }

  /**
   * Uploads the last pack, then this run's index, then the snapshot: in that order, so a snapshot
   * is listed only once everything it refers to is stored (§12.8). The index is written in parts of
   * whole packs, each begun after INDEX_PART_BLOBS blobs (§12.6), one at a time: the text of an
   * index of 200,000 blobs would take some 70 MiB to build, encode and seal at once.
   */
  async commit(snapshot: Omit<SnapshotBody, 'added'>): Promise<SnapshotInfo> {
    await this.finishPacks();
    for (const part of indexParts(this.runEntries)) {
      this.uploadedBytes += await this.repository.putMetadata(
        ObjectType.index,
        this.repository.newName(INDEX_PREFIX),
        indexBody(part),
      );
    }
    const name = this.repository.newName(SNAPSHOT_PREFIX);
    const body: SnapshotBody = { ...snapshot, added: this.uploadedBytes };
    this.uploadedBytes += await this.repository.putMetadata(ObjectType.snapshot, name, body);
    return { ...body, id: name.slice(SNAPSHOT_PREFIX.length) };
  }
}
