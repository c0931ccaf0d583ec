// etcd record store (docs/ARCHITECTURE.md "Record store", production): one key per record slot under a prefix,
// compare-and-swap as a transaction on the key's mod revision. etcd is untrusted: it holds only
// sealed and certified bytes, and the cores refuse anything stale it might show.
import { messageOf, UnavailableError } from '../../errors.ts';
import { EtcdGrpcClient, type EtcdKeyValue } from './etcd-grpc.ts';
import type { RecordStore, StoredSlot } from './record-store.ts';
import { decodeSlotValue, encodeSlotValue } from './slot-value.ts';

export interface EtcdRecordStoreOptions {
  /** Client endpoints, `host:port` (http). */
  readonly hosts: readonly string[];
  /** Key prefix for this fleet's records; keys are prefix + hex(record id). */
  readonly prefix?: string;
  /** Bound on each etcd call (deadline) in milliseconds. */
  readonly callTimeoutMs?: number;
  /** Bound on a whole store operation, retries included, in milliseconds. */
  readonly operationTimeoutMs?: number;
}

const DEFAULT_PREFIX = 'strongroom/records/';
const ID_PAGE = 1000;

/**
 * Records in an etcd cluster. Every call carries a deadline and every operation an overall bound,
 * so a cluster without quorum (reads and writes then block inside etcd until it regains a leader)
 * surfaces as UnavailableError instead of a hang. A compareAndSet that fails with UnavailableError
 * may still have been applied (the proposal can commit after the deadline): callers re-read.
 */
export class EtcdRecordStore implements RecordStore {
  readonly #client: EtcdGrpcClient;
  readonly #prefix: Buffer;
  readonly #hosts: readonly string[];
  readonly #operationTimeoutMs: number;

  constructor(options: EtcdRecordStoreOptions) {
    if (options.hosts.length === 0) throw new UnavailableError('no etcd endpoints given');
    const callTimeoutMs = options.callTimeoutMs ?? 1000;
    this.#operationTimeoutMs = options.operationTimeoutMs ?? 3 * callTimeoutMs;
    this.#prefix = Buffer.from(options.prefix ?? DEFAULT_PREFIX);
    this.#hosts = options.hosts;
    this.#client = new EtcdGrpcClient(options.hosts, { callTimeoutMs });
  }

  async get(recordId: Uint8Array): Promise<StoredSlot | undefined> {
    const kvs = await this.#guard('read', () => this.#client.range(this.#key(recordId)));
    const kv = kvs[0];
    return kv === undefined ? undefined : this.#slot(kv);
  }

  async compareAndSet(
    recordId: Uint8Array,
    expected: bigint | undefined,
    next: { committed?: Uint8Array; intent?: Uint8Array },
  ): Promise<bigint | undefined> {
    // Create: the key must never have existed (create revision 0). Update: its mod revision must
    // still be the one the caller read.
    return this.#guard('write', () =>
      this.#client.putIf(this.#key(recordId), expected, encodeSlotValue(next)),
    );
  }

  async *ids(): AsyncIterable<Uint8Array> {
    const start = this.#prefix;
    const end = prefixEnd(start);
    let from: Uint8Array = start;
    for (;;) {
      const range = from;
      const kvs = await this.#guard('list', () =>
        this.#client.range(range, { rangeEnd: end, limit: ID_PAGE, keysOnly: true }),
      );
      for (const { key } of kvs)
        yield new Uint8Array(Buffer.from(Buffer.from(key.subarray(start.length)).toString(), 'hex'));
      const last = kvs.at(-1);
      if (kvs.length < ID_PAGE || last === undefined) return;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /**
   * A linearizable read of one fixed key (the prefix itself, which holds no record): etcd answers
   * it only through a leader with a quorum, which is what every read and write here needs.
   */
  async ping(): Promise<void> {
    await this.#guard('ping', () => this.#client.range(this.#prefix, { keysOnly: true }));
  }

  async close(): Promise<void> {
    this.#client.close();
  }

  #key(recordId: Uint8Array): Buffer {
    return Buffer.concat([this.#prefix, Buffer.from(Buffer.from(recordId).toString('hex'))]);
  }

  #slot(kv: EtcdKeyValue): StoredSlot {
    return { ...decodeSlotValue(kv.value), revision: kv.modRevision };
  }

  /** Runs one etcd operation under the overall bound, turning every failure into UnavailableError. */
  async #guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.#operationTimeoutMs} ms`)),
        this.#operationTimeoutMs,
      );
    });
    try {
      return await Promise.race([run(), timeout]);
    } catch (error) {
      const detail = messageOf(error);
      throw new UnavailableError(`etcd record store ${what} failed (${this.#hosts.join(',')}): ${detail}`, {
        cause: error,
        hints: ['the etcd cluster may have lost its quorum or be unreachable; no answer was given from it'],
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The smallest key greater than every key starting with `prefix` (etcd's prefix range end). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end.readUInt8(i);
    if (byte < 0xff) {
      end.writeUInt8(byte + 1, i);
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
