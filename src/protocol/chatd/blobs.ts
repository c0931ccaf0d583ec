// Blob upload, download and listing on the server's own storage (docs/PROTOCOL.md "ChatD: Blobs").
// Blobs are encrypted backup streams; ChatD stores them per account under a quota. Transfers are
// chunked and flow-controlled by acknowledgements: a sender keeps at most BLOB_WINDOW chunks
// unacknowledged, so memory stays constant on both sides whatever the blob's size.
//
//   upload:   BlobPut(name) → Ok; BlobChunk(seq, data) → BlobChunkAck(seq) ...; BlobEnd(total) → BlobStored
//   download: BlobGet(name) → BlobChunk(seq, data) ← BlobChunkAck(seq) ...; BlobEnd(total)
//   (every message of one transfer carries the request id of its BlobPut / BlobGet)
//
//   BlobPut         (c→s, 0x40): nameLen u8 || name
//   BlobChunk       (both, 0x41): seq u32 (0, 1, 2, ...) || data (1..262144 bytes)
//   BlobChunkAck    (both, 0x42): seq u32
//   BlobEnd         (both, 0x43): totalSize u64 (the sender's count; the receiver checks it)
//   BlobStored      (s→c, 0x44): size u64
//   BlobGet         (c→s, 0x45): nameLen u8 || name
//   BlobListRequest (c→s, 0x46): prefixLen u8 || prefix (empty, or a name prefix)
//                                [|| afterLen u8 || after] (a name: only names after it, to page;
//                                PROTOCOL.md "ChatD: Changes")
//   BlobList        (s→c, 0x47): count u16 || (nameLen u8 || name || size u64 || modifiedMs u64)*
//                                (a full list, MAX_BLOB_LIST_ENTRIES, may have more after its last name)
//   BlobDelete      (c→s, 0x48): nameLen u8 || name      → Ok
import { Ok } from './errors.ts';
import { type ChatdRequest, checkName, checkU64, checkUint, MAX_BLOB_CHUNK_BYTES } from './message.ts';
import { ByteWriter, check, Reader } from './wire.ts';

/** Most blobs one BlobList carries (keeps the frame under MAX_FRAME_BYTES). */
export const MAX_BLOB_LIST_ENTRIES = 4096;

/** A body that is exactly one name. */
function readName(body: Uint8Array, what: string): string {
  const r = new Reader(body, what);
  const name = r.string8('name');
  r.end();
  return name;
}

/** Starts an upload of blob `name` (replacing any blob of that name once complete). */
export class BlobPut implements ChatdRequest<Ok> {
  static readonly TYPE = 0x40;
  readonly type = BlobPut.TYPE;
  get responseType() {
    return Ok;
  }
  readonly name: string;
  constructor(name: string) {
    this.name = checkName('blob put', name);
  }
  serialize(): Uint8Array {
    return new ByteWriter().string8(this.name).finish();
  }
  static deserialize(body: Uint8Array): BlobPut {
    return new BlobPut(readName(body, 'blob put'));
  }
}

/** One chunk of a transfer; the receiver acknowledges it by its sequence number. */
export class BlobChunk implements ChatdRequest<BlobChunkAck> {
  static readonly TYPE = 0x41;
  readonly type = BlobChunk.TYPE;
  get responseType() {
    return BlobChunkAck;
  }
  readonly seq: number;
  readonly data: Uint8Array;
  constructor(seq: number, data: Uint8Array) {
    this.seq = checkUint('blob chunk', 'seq', seq, 0xffffffff);
    check(
      data instanceof Uint8Array && data.length >= 1 && data.length <= MAX_BLOB_CHUNK_BYTES,
      'blob chunk',
      `data must be 1-${MAX_BLOB_CHUNK_BYTES} bytes`,
    );
    this.data = data;
  }
  serialize(): Uint8Array {
    return new ByteWriter().u32(this.seq).bytes(this.data).finish();
  }
  static deserialize(body: Uint8Array): BlobChunk {
    const r = new Reader(body, 'blob chunk');
    const seq = r.u32('seq');
    return new BlobChunk(seq, r.rest());
  }
}

export class BlobChunkAck {
  static readonly TYPE = 0x42;
  readonly type = BlobChunkAck.TYPE;
  readonly seq: number;
  constructor(seq: number) {
    this.seq = checkUint('blob chunk ack', 'seq', seq, 0xffffffff);
  }
  serialize(): Uint8Array {
    return new ByteWriter().u32(this.seq).finish();
  }
  static deserialize(body: Uint8Array): BlobChunkAck {
    const r = new Reader(body, 'blob chunk ack');
    const seq = r.u32('seq');
    r.end();
    return new BlobChunkAck(seq);
  }
}

/** Ends a transfer; `totalSize` must equal the bytes the receiver got. */
export class BlobEnd implements ChatdRequest<BlobStored> {
  static readonly TYPE = 0x43;
  readonly type = BlobEnd.TYPE;
  get responseType() {
    return BlobStored;
  }
  readonly totalSize: bigint;
  constructor(totalSize: bigint) {
    this.totalSize = checkU64('blob end', 'total size', totalSize);
  }
  serialize(): Uint8Array {
    return new ByteWriter().u64(this.totalSize).finish();
  }
  static deserialize(body: Uint8Array): BlobEnd {
    const r = new Reader(body, 'blob end');
    const totalSize = r.u64('total size');
    r.end();
    return new BlobEnd(totalSize);
  }
}

/** The upload is complete and visible under its name. */
export class BlobStored {
  static readonly TYPE = 0x44;
  readonly type = BlobStored.TYPE;
  readonly size: bigint;
  constructor(size: bigint) {
    this.size = checkU64('blob stored', 'size', size);
  }
  serialize(): Uint8Array {
    return new ByteWriter().u64(this.size).finish();
  }
  static deserialize(body: Uint8Array): BlobStored {
    const r = new Reader(body, 'blob stored');
    const size = r.u64('size');
    r.end();
    return new BlobStored(size);
  }
}

/** Starts a download; the answer is a stream of BlobChunk then BlobEnd (or an ErrorFrame). */
export class BlobGet {
  static readonly TYPE = 0x45;
  readonly type = BlobGet.TYPE;
  readonly name: string;
  constructor(name: string) {
    this.name = checkName('blob get', name);
  }
  serialize(): Uint8Array {
    return new ByteWriter().string8(this.name).finish();
  }
  static deserialize(body: Uint8Array): BlobGet {
    return new BlobGet(readName(body, 'blob get'));
  }
}

export class BlobListRequest implements ChatdRequest<BlobList> {
  static readonly TYPE = 0x46;
  readonly type = BlobListRequest.TYPE;
  get responseType() {
    return BlobList;
  }
  /** Only names starting with this; empty for all. */
  readonly prefix: string;
  /**
   * Only names sorting after this one (byte order), to page through a listing longer than one
   * BlobList; absent for the first page. A name, never empty, so each request has one encoding.
   */
  readonly after: string | undefined;
  constructor(prefix = '', after?: string) {
    if (prefix !== '') checkName('blob list request', prefix);
    this.prefix = prefix;
    this.after = after === undefined ? undefined : checkName('blob list request', after);
  }
  serialize(): Uint8Array {
    const w = new ByteWriter().string8(this.prefix);
    if (this.after !== undefined) w.string8(this.after);
    return w.finish();
  }
  static deserialize(body: Uint8Array): BlobListRequest {
    const r = new Reader(body, 'blob list request');
    const prefix = r.string8('prefix');
    const rest = r.rest();
    if (rest.length === 0) return new BlobListRequest(prefix);
    return new BlobListRequest(prefix, readName(rest, 'blob list request'));
  }
}

export interface BlobListEntry {
  readonly name: string;
  readonly size: bigint;
  readonly modifiedMs: bigint;
}

/** The account's blobs, sorted by name. */
export class BlobList {
  static readonly TYPE = 0x47;
  readonly type = BlobList.TYPE;
  readonly entries: readonly BlobListEntry[];
  constructor(entries: readonly BlobListEntry[]) {
    check(entries.length <= MAX_BLOB_LIST_ENTRIES, 'blob list', `at most ${MAX_BLOB_LIST_ENTRIES} entries`);
    this.entries = entries.map((e) => ({
      name: checkName('blob list', e.name),
      size: checkU64('blob list', 'size', e.size),
      modifiedMs: checkU64('blob list', 'modified', e.modifiedMs),
    }));
  }
  serialize(): Uint8Array {
    const w = new ByteWriter().u16(this.entries.length);
    for (const e of this.entries) w.string8(e.name).u64(e.size).u64(e.modifiedMs);
    return w.finish();
  }
  static deserialize(body: Uint8Array): BlobList {
    const r = new Reader(body, 'blob list');
    const count = r.u16('count');
    check(count <= MAX_BLOB_LIST_ENTRIES, 'blob list', `at most ${MAX_BLOB_LIST_ENTRIES} entries`);
    const entries: BlobListEntry[] = [];
    for (let i = 0; i < count; i++) {
      entries.push({ name: r.string8('name'), size: r.u64('size'), modifiedMs: r.u64('modified') });
    }
    r.end();
    return new BlobList(entries);
  }
}

export class BlobDelete implements ChatdRequest<Ok> {
  static readonly TYPE = 0x48;
  readonly type = BlobDelete.TYPE;
  get responseType() {
    return Ok;
  }
  readonly name: string;
  constructor(name: string) {
    this.name = checkName('blob delete', name);
  }
  serialize(): Uint8Array {
    return new ByteWriter().string8(this.name).finish();
  }
  static deserialize(body: Uint8Array): BlobDelete {
    return new BlobDelete(readName(body, 'blob delete'));
  }
}
