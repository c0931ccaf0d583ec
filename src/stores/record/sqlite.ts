// SQLite record store (docs/ARCHITECTURE.md "Record store", embedded default): one row per record slot, a revision
// counter per slot, compare-and-swap as one conditional statement inside a transaction.
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { messageOf, UnavailableError } from '../../errors.ts';
import { WalSync } from '../wal-sync.ts';
import type { RecordStore, StoredSlot } from './record-store.ts';

/** Rows `ids()` reads at a time: the iterator never holds a statement open across an await. */
const ID_PAGE = 1000;

interface SlotRow {
  committed: Buffer | null;
  intent: Buffer | null;
  revision: bigint;
}

/**
 * Records in one SQLite file. WAL lets readers run beside the writer. Several processes may open
 * the same file: busy_timeout makes a writer wait for another's transaction instead of failing.
 *
 * Durability (docs/PROTOCOL.md "Coordinator", "What each write must survive"): every write commits
 * at once with synchronous=NORMAL, visible to every reader. A write that sets a pending intent is
 * durable before compareAndSet resolves — an fdatasync of the WAL on the thread pool, shared by
 * concurrent writers (WalSync) — because the nodes are asked to endorse it only then: an intent
 * the disk forgot after some nodes marked it could leave a record no later proposal can certify.
 * For the same reason get() returns a pending intent only once the WAL is synced: another host
 * may read the intent before its writer's sync is done, and complete it.
 * A write without an intent (a commit, a dropped intent) is not waited for: the WAL is one
 * sequential file, so the next intent's sync (or a checkpoint, or closing) makes it durable too,
 * and until then an OS crash can only lose it back to its own intent, which is durable and which
 * the next coordinator completes (the nodes endorse the same state again). A process crash loses
 * nothing: the WAL is in the page cache.
 */
export class SqliteRecordStore implements RecordStore {
  readonly #db: Database.Database;
  readonly #select: Database.Statement<[Buffer], SlotRow>;
  readonly #insert: Database.Statement<[Buffer, Buffer | null, Buffer | null]>;
  readonly #update: Database.Statement<[Buffer | null, Buffer | null, Buffer, bigint]>;
  readonly #page: Database.Statement<[Buffer], { id: Buffer }>;
  readonly #cas: (
    id: Buffer,
    expected: bigint | undefined,
    committed: Buffer | null,
    intent: Buffer | null,
  ) => bigint | undefined;
  readonly #sync: WalSync;
  /** The database file's inode when opened: ping() checks the path still names this file. */
  readonly #inode: number;
  /** Whether a write since the last sync was not waited for (close makes it durable). */
  #unsynced = false;

  constructor(readonly path: string) {
    try {
      this.#db = new Database(path);
    } catch (error) {
      throw new UnavailableError(`cannot open the SQLite record store at ${JSON.stringify(path)}`, {
        cause: error,
        hints: ['check that the directory exists and is writable'],
      });
    }
    this.#db.pragma('journal_mode = WAL');
    // Commits do not fsync; compareAndSet syncs intents off the event loop (above). Checkpoints sync.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS record_slots (
      id BLOB PRIMARY KEY,
      committed BLOB,
      intent BLOB,
      revision INTEGER NOT NULL
    ) WITHOUT ROWID`);
    this.#select = this.#db
      .prepare<[Buffer], SlotRow>('SELECT committed, intent, revision FROM record_slots WHERE id = ?')
      .safeIntegers(true);
    this.#insert = this.#db.prepare(
      'INSERT INTO record_slots (id, committed, intent, revision) VALUES (?, ?, ?, 1) ON CONFLICT (id) DO NOTHING',
    );
    this.#update = this.#db
      .prepare<[Buffer | null, Buffer | null, Buffer, bigint]>(
        'UPDATE record_slots SET committed = ?, intent = ?, revision = revision + 1 WHERE id = ? AND revision = ?',
      )
      .safeIntegers(true);
    this.#page = this.#db.prepare<[Buffer], { id: Buffer }>(
      `SELECT id FROM record_slots WHERE id > ? ORDER BY id LIMIT ${ID_PAGE}`,
    );
    // IMMEDIATE takes the write lock up front, so the check and the write see the same revision
    // even when another process writes the same file.
    this.#cas = this.#db.transaction((id, expected, committed, intent) => {
      const result =
        expected === undefined
          ? this.#insert.run(id, committed, intent)
          : this.#update.run(committed, intent, id, expected);
      if (result.changes !== 1) return undefined;
      // Inside the write transaction: the row's revision is exactly what this statement set.
      return expected === undefined ? 1n : expected + 1n;
    }).immediate;
    this.#sync = new WalSync(path);
    this.#inode = statSync(path).ino;
  }

  async get(recordId: Uint8Array): Promise<StoredSlot | undefined> {
    const row = this.#select.get(toBuffer(recordId));
    if (row === undefined) return undefined;
    // A pending intent is visible before its writer's sync completes; whoever reads it may ask the
    // nodes to endorse it, so it is made durable first (the WAL file is shared by every handle).
    if (row.intent !== null) await this.#sync.durable();
    return {
      revision: row.revision,
      ...(row.committed === null ? {} : { committed: new Uint8Array(row.committed) }),
      ...(row.intent === null ? {} : { intent: new Uint8Array(row.intent) }),
    };
  }

  async compareAndSet(
    recordId: Uint8Array,
    expected: bigint | undefined,
    next: { committed?: Uint8Array; intent?: Uint8Array },
  ): Promise<bigint | undefined> {
    const revision = this.#cas(
      toBuffer(recordId),
      expected,
      next.committed === undefined ? null : toBuffer(next.committed),
      next.intent === undefined ? null : toBuffer(next.intent),
    );
    if (revision === undefined) return undefined;
    if (next.intent === undefined) this.#unsynced = true;
    else {
      this.#unsynced = false;
      await this.#sync.durable();
    }
    return revision;
  }

  async *ids(): AsyncIterable<Uint8Array> {
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const rows = this.#page.all(after);
      for (const row of rows) yield new Uint8Array(row.id);
      const last = rows.at(-1);
      if (rows.length < ID_PAGE || last === undefined) return;
      after = last.id;
    }
  }

  /**
   * A trivial query on the open handle, and a check that the path still names the file this store
   * writes: a handle on a file that was moved or deleted keeps working, but what it writes would no
   * longer be where operators, backups and other processes look (docs/OPERATIONS.md "Health and
   * readiness").
   */
  async ping(): Promise<void> {
    let inode: number;
    try {
      this.#db.prepare('SELECT 1 FROM record_slots LIMIT 1').get();
      inode = statSync(this.path).ino;
    } catch (error) {
      throw new UnavailableError(`the SQLite record store at ${JSON.stringify(this.path)} does not answer`, {
        cause: error,
        hints: [messageOf(error)],
      });
    }
    if (inode !== this.#inode) {
      throw new UnavailableError(
        `the SQLite record store at ${JSON.stringify(this.path)} was replaced by another file`,
      );
    }
  }

  /** How many fdatasyncs this store ran so far (for benchmarks and tests). */
  get durableWrites(): number {
    return this.#sync.syncs;
  }

  async close(): Promise<void> {
    if (this.#unsynced && this.#db.open) await this.#sync.durable();
    this.#unsynced = false;
    if (this.#db.open) this.#db.close();
    this.#sync.close();
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
