// The core's non-volatile state (DESIGN.md section 4: "written before it answers") as a local SQLite
// file: WAL journal with synchronous=FULL, so each `put` is fsync'd before it returns. One file per
// node; the file is locked exclusively while open, so two host processes can never share one node's
// marks (which would let the pair endorse two different states at one version).
//
// What this file is not: a real HSM's NVRAM. Anyone with the node's disk can edit or roll it back;
// docs/SECURITY.md says which guarantees that costs.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Nvram } from '../hsm-core/platform.ts';

/** Keys and values the core stores are small (a record id; a state plus a signature). */
const MAX_KEY_LENGTH = 1024;
const MAX_VALUE_LENGTH = 1 << 20;

export class NvramFile implements Nvram {
  private readonly db: Database.Database;
  private readonly getStatement: Database.Statement<[Uint8Array], { value: Buffer }>;
  private readonly putStatement: Database.Statement<[Uint8Array, Uint8Array]>;
  private readonly allStatement: Database.Statement<[], { key: Buffer; value: Buffer }>;

  /** Opens (creating if needed) the NVRAM file at `path`; throws if another process holds it. */
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    // A short busy timeout: a second opener should fail at once, not wait for the first to exit.
    this.db = new Database(path, { timeout: 100 });
    try {
      // Exclusive locking before WAL: SQLite then keeps the WAL index in heap memory, not in a -shm
      // file another process could map.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS nvram (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID',
      );
      // Take the exclusive lock now, not at the first write, so a second opener fails at start-up.
      this.db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      this.db.close();
      throw new Error(`NVRAM file ${path} could not be opened (is another vault host using this node?)`, {
        cause: error,
      });
    }
    this.getStatement = this.db.prepare('SELECT value FROM nvram WHERE key = ?');
    this.putStatement = this.db.prepare(
      'INSERT INTO nvram (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.allStatement = this.db.prepare('SELECT key, value FROM nvram ORDER BY key');
  }

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    const row = this.getStatement.get(key);
    return row === undefined ? undefined : new Uint8Array(row.value);
  }

  /** Durable when it returns: the WAL frame is fsync'd (synchronous=FULL) before the commit completes. */
  put(key: Uint8Array, value: Uint8Array): void {
    checkKey(key);
    if (value.length > MAX_VALUE_LENGTH)
      throw new RangeError(`NVRAM value longer than ${MAX_VALUE_LENGTH} bytes`);
    this.putStatement.run(key, value);
  }

  *entries(): Iterable<[Uint8Array, Uint8Array]> {
    for (const row of this.allStatement.iterate()) yield [new Uint8Array(row.key), new Uint8Array(row.value)];
  }

  /** Releases the file (and its lock). */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new RangeError(`NVRAM key must be 1 to ${MAX_KEY_LENGTH} bytes`);
  }
}
