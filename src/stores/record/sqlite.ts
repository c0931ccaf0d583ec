// SQLite record store (DESIGN section 4, embedded default): one row per record slot, a revision
// counter per slot, compare-and-swap as one conditional statement inside a transaction.
import Database from 'better-sqlite3';
import { UnavailableError } from '../../errors.ts';
import type { RecordStore, StoredSlot } from './record-store.ts';

/** Rows `ids()` reads at a time: the iterator never holds a statement open across an await. */
const ID_PAGE = 1000;

interface SlotRow {
  committed: Buffer | null;
  intent: Buffer | null;
  revision: bigint;
}

/**
 * Records in one SQLite file. WAL lets readers run beside the writer; synchronous=FULL makes a
 * successful compareAndSet durable before it returns (a commit the store forgets would roll a
 * record back, which the cores refuse, costing availability). Several processes may open the same
 * file: busy_timeout makes a writer wait for another's transaction instead of failing.
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
    this.#db.pragma('synchronous = FULL');
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
  }

  async get(recordId: Uint8Array): Promise<StoredSlot | undefined> {
    const row = this.#select.get(toBuffer(recordId));
    if (row === undefined) return undefined;
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
    return this.#cas(
      toBuffer(recordId),
      expected,
      next.committed === undefined ? null : toBuffer(next.committed),
      next.intent === undefined ? null : toBuffer(next.intent),
    );
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

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
