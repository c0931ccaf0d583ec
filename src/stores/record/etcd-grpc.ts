// A minimal etcd v3 client for the record store (etcd.ts; docs/ARCHITECTURE.md "Record store"):
// the unary gRPC calls the stores need (KV.Range, KV.Txn, Maintenance.Status; ChatD's account
// store, src/chatd/etcd-account-store.ts, uses the same client and also Lease.LeaseGrant and the
// streaming Watch.Watch, docs/CHATD.md "ChatD across regions"), framed by hand
// over node:http2 with the few protobuf fields they use (etcd's api/etcdserverpb/rpc.proto). It
// replaces the etcd3 package (grpc-js), which cost ~3× the CPU per call on the vault node.
// Calls go to the cluster's leader when it is known: a follower would forward every write to the
// leader and ask it for a read index on every linearizable read, one more hop and more CPU each.
// etcd is untrusted (docs/ARCHITECTURE.md "Record store"): nothing here needs to be believed, only bounded in time.
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from 'node:http2';
import { messageOf } from '../../errors.ts';

const RANGE = '/etcdserverpb.KV/Range';
const TXN = '/etcdserverpb.KV/Txn';
const STATUS = '/etcdserverpb.Maintenance/Status';
const LEASE_GRANT = '/etcdserverpb.Lease/LeaseGrant';
const WATCH = '/etcdserverpb.Watch/Watch';

/** A member shut out after a failed call is tried again only after this long (unless all are). */
const SUSPECT_MS = 500;
/** The leader is looked up again after this long, in case leadership moved without a failure. */
const LEADER_REFRESH_MS = 5000;
/** Attempts per call, each on the next member: enough to get past one dead member and a leader change. */
const ATTEMPTS = 3;
/** Largest answer accepted (a page of 1000 keys is ~100 KiB). */
const MAX_ANSWER_BYTES = 16 << 20;

/** One key-value pair as etcd returns it (mvccpb.KeyValue), the fields the store uses. */
export interface EtcdKeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly modRevision: bigint;
}

/** One etcd transaction: conditions on keys' revisions, and the writes made if all hold. */
export interface EtcdTxn {
  readonly compares: ReadonlyArray<{ readonly key: Uint8Array; readonly modRevision: bigint | undefined }>;
  /** With `lease`, the key is deleted by etcd when that lease expires (see `grantLease`). */
  readonly puts: ReadonlyArray<{
    readonly key: Uint8Array;
    readonly value: Uint8Array;
    readonly lease?: bigint;
  }>;
  readonly deletes: readonly Uint8Array[];
}

/** What a watch reports: the keys put under it (deletions are not reported), its start, its end. */
export interface EtcdWatchHandlers {
  /** The watch is in place: every later put under it will be reported. */
  onCreated(): void;
  onPut(kv: EtcdKeyValue): void;
  /** The watch ended (member lost, leader lost, cancelled by etcd); it reports nothing more. */
  onError(error: EtcdCallError): void;
}

/** A running watch; `close` ends it without calling `onError`. */
export interface EtcdWatch {
  close(): void;
}

/** A call that failed: no answer, a gRPC error status, or an unreadable answer. */
export class EtcdCallError extends Error {}

export class EtcdGrpcClient {
  readonly #endpoints: readonly string[];
  readonly #callTimeoutMs: number;
  readonly #sessions = new Map<string, ClientHttp2Session>();
  readonly #suspectUntil = new Map<string, number>();
  #leader: string | undefined;
  #leaderCheckedAt = Number.NEGATIVE_INFINITY;
  #leaderLookup: Promise<void> | undefined;
  #next = 0;
  #closed = false;

  /** `endpoints` are `host:port` (plain http/2, as etcd's --listen-client-urls http://...). */
  constructor(endpoints: readonly string[], options: { callTimeoutMs: number }) {
    this.#endpoints = endpoints;
    this.#callTimeoutMs = options.callTimeoutMs;
  }

  /** KV.Range: linearizable (the default) read of `key`, or of [key, rangeEnd) with a limit. */
  async range(
    key: Uint8Array,
    options: { rangeEnd?: Uint8Array; limit?: number; keysOnly?: boolean } = {},
  ): Promise<EtcdKeyValue[]> {
    const request = new ProtoWriter().bytes(1, key);
    if (options.rangeEnd !== undefined) request.bytes(2, options.rangeEnd);
    if (options.limit !== undefined) request.varint(3, BigInt(options.limit));
    if (options.keysOnly === true) request.varint(8, 1n);
    const answer = await this.#call(RANGE, request.finish());
    const kvs: EtcdKeyValue[] = [];
    for (const field of readFields(answer)) if (field.number === 2) kvs.push(keyValue(field.bytes()));
    return kvs;
  }

  /**
   * KV.Txn: puts `value` at `key` if the key's mod revision equals `modRevision`, or, with
   * `modRevision` undefined, if the key has never existed (create revision 0). Returns the new
   * revision when the put was applied, undefined when the comparison failed.
   */
  async putIf(
    key: Uint8Array,
    modRevision: bigint | undefined,
    value: Uint8Array,
  ): Promise<bigint | undefined> {
    const { succeeded, revision } = await this.#txn({
      compares: [{ key, modRevision }],
      puts: [{ key, value }],
      deletes: [],
    });
    if (!succeeded) return undefined;
    // The put is the transaction's only write, so its revision is the key's new mod revision.
    if (revision === undefined || revision <= 0n)
      throw new EtcdCallError('a transaction answer without a revision');
    return revision;
  }

  /**
   * KV.Txn over several keys: every put and delete is applied, atomically, if and only if every
   * comparison holds (each key's mod revision as given, or never created when undefined).
   * Returns whether it was applied.
   */
  async txn(request: EtcdTxn): Promise<boolean> {
    return (await this.#txn(request)).succeeded;
  }

  async #txn(request: EtcdTxn): Promise<{ succeeded: boolean; revision: bigint | undefined }> {
    const message = new ProtoWriter();
    for (const { key, modRevision } of request.compares) {
      // Compare: result EQUAL (0), target CREATE (1) or MOD (2), the key, and the oneof target
      // value, written even when 0 so the comparison never depends on a default.
      message.bytes(
        1,
        new ProtoWriter()
          .varint(1, 0n)
          .varint(2, modRevision === undefined ? 1n : 2n)
          .bytes(3, key)
          .varint(modRevision === undefined ? 5 : 6, modRevision ?? 0n)
          .finish(),
      );
    }
    // RequestOp: request_put (2) is PutRequest {key 1, value 2}; request_delete_range (3) is
    // DeleteRangeRequest {key 1}.
    // PutRequest {key 1, value 2, lease 3}.
    for (const { key, value, lease } of request.puts) {
      const put = new ProtoWriter().bytes(1, key).bytes(2, value);
      if (lease !== undefined) put.varint(3, lease);
      message.bytes(2, new ProtoWriter().bytes(2, put.finish()).finish());
    }
    for (const key of request.deletes) {
      message.bytes(2, new ProtoWriter().bytes(3, new ProtoWriter().bytes(1, key).finish()).finish());
    }
    const answer = await this.#call(TXN, message.finish());
    let succeeded = false;
    let revision: bigint | undefined;
    for (const field of readFields(answer)) {
      if (field.number === 1) revision = headerField(field.bytes(), HeaderField.revision);
      else if (field.number === 2) succeeded = field.varint() !== 0n;
    }
    return { succeeded, revision };
  }

  /**
   * Lease.LeaseGrant: a lease of `ttlSeconds` (etcd may raise it to its minimum) that is never
   * kept alive, so the keys put with it are deleted once it expires. Returns the lease id.
   */
  async grantLease(ttlSeconds: number): Promise<bigint> {
    const answer = await this.#call(LEASE_GRANT, new ProtoWriter().varint(1, BigInt(ttlSeconds)).finish());
    let id: bigint | undefined;
    let error = '';
    for (const field of readFields(answer)) {
      if (field.number === 2) id = field.varint();
      else if (field.number === 4) error = Buffer.from(field.bytes()).toString('utf8');
    }
    if (id === undefined || id === 0n)
      throw new EtcdCallError(`no lease granted${error ? ` (${error})` : ''}`);
    return id;
  }

  /**
   * Watch.Watch on the keys [key, rangeEnd): one stream on one member, asked to end when that
   * member loses its leader (a member cut off from the quorum would otherwise stay silent).
   * There is no retry here: after `onError` the caller decides when to watch again.
   */
  watch(key: Uint8Array, rangeEnd: Uint8Array, handlers: EtcdWatchHandlers): EtcdWatch {
    const endpoint = this.#order()[0]!;
    let stream: ClientHttp2Stream;
    try {
      if (this.#closed) throw new EtcdCallError('the etcd client is closed');
      stream = this.#session(endpoint).request({
        ':method': 'POST',
        ':path': WATCH,
        'content-type': 'application/grpc',
        te: 'trailers',
        hasleader: 'true',
      });
    } catch (error) {
      const failure = new EtcdCallError(`${endpoint}: ${messageOf(error)}`);
      queueMicrotask(() => handlers.onError(failure));
      return { close: () => {} };
    }
    let ended = false;
    const end = (error: EtcdCallError | undefined) => {
      if (ended) return;
      ended = true;
      if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      if (error === undefined) return;
      // As for a failed call: the next watch (or call) prefers another member.
      this.#suspectUntil.set(endpoint, Date.now() + SUSPECT_MS);
      if (endpoint === this.#leader) {
        this.#leader = undefined;
        this.#leaderCheckedAt = Number.NEGATIVE_INFINITY;
      }
      handlers.onError(error);
    };
    stream.on('response', (headers) => {
      if (headers[':status'] !== 200)
        end(new EtcdCallError(`${endpoint}: watch answered HTTP ${String(headers[':status'])}`));
    });
    const frames = new FrameReader();
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const message of frames.push(chunk)) {
          // WatchResponse {header 1, watch_id 2, created 3, canceled 4, cancel_reason 6, events 11};
          // Event {type 1 (PUT 0, DELETE 1), kv 2}.
          let created = false;
          let canceled = false;
          let reason = '';
          const puts: EtcdKeyValue[] = [];
          for (const field of readFields(message)) {
            if (field.number === 3) created = field.varint() !== 0n;
            else if (field.number === 4) canceled = field.varint() !== 0n;
            else if (field.number === 6) reason = Buffer.from(field.bytes()).toString('utf8');
            else if (field.number === 11) {
              let type = 0n;
              let kv: EtcdKeyValue | undefined;
              for (const part of readFields(field.bytes())) {
                if (part.number === 1) type = part.varint();
                else if (part.number === 2) kv = keyValue(part.bytes());
              }
              if (type === 0n && kv !== undefined) puts.push(kv);
            }
          }
          if (canceled)
            return end(new EtcdCallError(`${endpoint}: watch cancelled${reason ? ` (${reason})` : ''}`));
          if (created) handlers.onCreated();
          for (const kv of puts) handlers.onPut(kv);
        }
      } catch (error) {
        end(error instanceof EtcdCallError ? error : new EtcdCallError(messageOf(error)));
      }
    });
    stream.on('error', (error) => end(new EtcdCallError(`${endpoint}: ${messageOf(error)}`)));
    stream.on('close', () => end(new EtcdCallError(`${endpoint}: the watch stream ended`)));
    // WatchRequest {create_request 1: WatchCreateRequest {key 1, range_end 2}}; the stream stays open.
    stream.write(
      frame(new ProtoWriter().bytes(1, new ProtoWriter().bytes(1, key).bytes(2, rangeEnd).finish()).finish()),
    );
    return { close: () => end(undefined) };
  }

  /** Closes every connection; later calls fail. */
  close(): void {
    this.#closed = true;
    for (const session of this.#sessions.values()) session.destroy();
    this.#sessions.clear();
  }

  /** Tries the members in order of preference until one answers; throws the last failure. */
  async #call(path: string, message: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new EtcdCallError('the etcd client is closed');
    if (Date.now() - this.#leaderCheckedAt > LEADER_REFRESH_MS) void this.#findLeader();
    let failure: unknown;
    for (const endpoint of this.#order().slice(0, ATTEMPTS)) {
      try {
        return await this.#unary(endpoint, path, message);
      } catch (error) {
        failure = error;
        this.#suspectUntil.set(endpoint, Date.now() + SUSPECT_MS);
        if (endpoint === this.#leader) {
          this.#leader = undefined;
          this.#leaderCheckedAt = Number.NEGATIVE_INFINITY;
        }
      }
    }
    throw failure;
  }

  /** The leader first (when known), then the members not recently failed, then the rest. */
  #order(): string[] {
    const now = Date.now();
    const start = this.#next++ % this.#endpoints.length;
    const rotated = [...this.#endpoints.slice(start), ...this.#endpoints.slice(0, start)];
    const healthy = rotated.filter((e) => e !== this.#leader && (this.#suspectUntil.get(e) ?? 0) <= now);
    const suspect = rotated.filter((e) => e !== this.#leader && (this.#suspectUntil.get(e) ?? 0) > now);
    return [...(this.#leader === undefined ? [] : [this.#leader]), ...healthy, ...suspect];
  }

  /**
   * Asks every member for its status and keeps the one that says it is the leader. One lookup at a
   * time; until it answers (or when no member claims leadership) calls go to any member.
   */
  #findLeader(): Promise<void> {
    if (this.#leaderLookup !== undefined) return this.#leaderLookup;
    this.#leaderCheckedAt = Date.now();
    const lookup = Promise.all(
      this.#endpoints.map(async (endpoint) => {
        try {
          const answer = await this.#unary(endpoint, STATUS, new Uint8Array(0));
          let member: bigint | undefined;
          let leader: bigint | undefined;
          for (const field of readFields(answer)) {
            if (field.number === 1) member = headerField(field.bytes(), HeaderField.member);
            else if (field.number === 4) leader = field.varint();
          }
          if (member !== undefined && leader !== undefined && leader !== 0n && member === leader)
            this.#leader = endpoint;
        } catch {
          // an unreachable member is simply not the leader we can use
        }
      }),
    ).then(() => {
      this.#leaderLookup = undefined;
    });
    this.#leaderLookup = lookup;
    return lookup;
  }

  #session(endpoint: string): ClientHttp2Session {
    const open = this.#sessions.get(endpoint);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const session = connect(`http://${endpoint}`);
    // Connections are kept for the client's life but never keep a process alive on their own.
    session.unref();
    const forget = () => {
      if (this.#sessions.get(endpoint) === session) this.#sessions.delete(endpoint);
    };
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    this.#sessions.set(endpoint, session);
    return session;
  }

  /** One gRPC unary call on one member, bounded by the call timeout. */
  #unary(endpoint: string, path: string, message: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let session: ClientHttp2Session;
      try {
        session = this.#session(endpoint);
      } catch (error) {
        reject(new EtcdCallError(`${endpoint}: ${messageOf(error)}`));
        return;
      }
      const stream = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        // etcd stops working on the call when the caller has stopped waiting for it.
        'grpc-timeout': `${this.#callTimeoutMs}m`,
      });
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
        reject(new EtcdCallError(`${endpoint}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${this.#callTimeoutMs} ms`), this.#callTimeoutMs);
      const chunks: Buffer[] = [];
      let size = 0;
      let status: string | undefined;
      let statusMessage = '';
      const takeStatus = (headers: Record<string, unknown>) => {
        const value = headers['grpc-status'];
        if (value !== undefined) {
          status = String(value);
          statusMessage = decodeURIComponent(String(headers['grpc-message'] ?? ''));
        }
      };
      stream.on('response', (headers) => {
        if (headers[':status'] !== 200) fail(`answered HTTP ${String(headers[':status'])}`);
        else takeStatus(headers); // a "trailers-only" answer carries its status here
      });
      stream.on('trailers', takeStatus);
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) fail('an answer over the size limit');
        else chunks.push(chunk);
      });
      stream.on('error', (error) => fail(messageOf(error)));
      stream.on('close', () => {
        if (settled) return;
        if (status === undefined) return fail('the call ended without a status');
        if (status !== '0') return fail(`gRPC status ${status}${statusMessage ? ` (${statusMessage})` : ''}`);
        try {
          const answer = unframe(Buffer.concat(chunks));
          settled = true;
          clearTimeout(timer);
          resolve(answer);
        } catch (error) {
          fail(messageOf(error));
        }
      });
      stream.end(frame(message));
    });
  }
}

/** A gRPC message frame: compressed flag 0 || length u32 BE || message. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** The one message of a unary answer. */
function unframe(body: Buffer): Uint8Array {
  if (body.length < 5 || body[0] !== 0) throw new EtcdCallError('an unreadable gRPC answer');
  const length = body.readUInt32BE(1);
  if (5 + length !== body.length) throw new EtcdCallError('a gRPC answer of the wrong length');
  return new Uint8Array(body.buffer, body.byteOffset + 5, length);
}

/** Splits a gRPC stream's bytes into its messages, whatever the chunking. */
class FrameReader {
  #pending: Buffer = Buffer.alloc(0);

  *push(chunk: Buffer): Generator<Uint8Array> {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= 5) {
      if (this.#pending[0] !== 0) throw new EtcdCallError('a compressed gRPC message');
      const length = this.#pending.readUInt32BE(1);
      if (length > MAX_ANSWER_BYTES) throw new EtcdCallError('a gRPC message over the size limit');
      if (this.#pending.length < 5 + length) return;
      yield new Uint8Array(this.#pending.subarray(5, 5 + length));
      this.#pending = this.#pending.subarray(5 + length);
    }
  }
}

function keyValue(bytes: Uint8Array): EtcdKeyValue {
  let key: Uint8Array = new Uint8Array(0);
  let value: Uint8Array = new Uint8Array(0);
  let modRevision = 0n;
  for (const field of readFields(bytes)) {
    if (field.number === 1) key = field.bytes();
    else if (field.number === 3) modRevision = field.varint();
    else if (field.number === 5) value = field.bytes();
  }
  return { key, value, modRevision };
}

/** ResponseHeader fields the client reads: member_id (2, who answered) and revision (3). */
const HeaderField = { member: 2, revision: 3 } as const;

function headerField(bytes: Uint8Array, number: number): bigint | undefined {
  for (const field of readFields(bytes)) if (field.number === number) return field.varint();
  return undefined;
}

/** Protobuf encoding of the few field kinds the requests use: varints and length-delimited bytes. */
class ProtoWriter {
  readonly #bytes: number[] = [];
  readonly #parts: Uint8Array[] = [];

  varint(field: number, value: bigint): this {
    this.#rawVarint(BigInt(field << 3));
    this.#rawVarint(BigInt.asUintN(64, value));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.#rawVarint(BigInt((field << 3) | 2));
    this.#rawVarint(BigInt(value.length));
    this.#flush();
    this.#parts.push(value);
    return this;
  }

  finish(): Uint8Array {
    this.#flush();
    return Buffer.concat(this.#parts);
  }

  #rawVarint(value: bigint): void {
    let rest = value;
    while (rest >= 0x80n) {
      this.#bytes.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    this.#bytes.push(Number(rest));
  }

  #flush(): void {
    if (this.#bytes.length === 0) return;
    this.#parts.push(Uint8Array.from(this.#bytes));
    this.#bytes.length = 0;
  }
}

interface ProtoField {
  readonly number: number;
  varint(): bigint;
  bytes(): Uint8Array;
}

/** Reads a protobuf message field by field; throws EtcdCallError on anything malformed. */
function* readFields(buffer: Uint8Array): Generator<ProtoField> {
  let at = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = buffer[at++];
      if (byte === undefined) throw new EtcdCallError('a truncated protobuf varint');
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
    throw new EtcdCallError('an overlong protobuf varint');
  };
  while (at < buffer.length) {
    const tag = readVarint();
    const number = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const value = readVarint();
      yield { number, varint: () => value, bytes: () => wrongType() };
    } else if (wire === 2) {
      const length = Number(readVarint());
      if (at + length > buffer.length) throw new EtcdCallError('a truncated protobuf field');
      const value = buffer.subarray(at, at + length);
      at += length;
      yield { number, varint: () => wrongType(), bytes: () => value };
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
      if (at > buffer.length) throw new EtcdCallError('a truncated protobuf field');
    } else {
      throw new EtcdCallError(`an unexpected protobuf wire type ${wire}`);
    }
  }
}

function wrongType(): never {
  throw new EtcdCallError('a protobuf field of an unexpected type');
}
