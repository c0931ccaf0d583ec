// The core's non-volatile state (docs/PROTOCOL.md §7: the mark is written before the signature leaves) as
// a local SQLite file, one per node, locked exclusively while open so two host processes can never
// share one node's marks (which would let the pair endorse two different states at one version).
//
// Durability without blocking the event loop, with group commit (src/stores/wal-sync.ts): a `put`
// writes its row at once (WAL journal, synchronous=NORMAL: the commit appends to the WAL file but
// does not fsync), so the value is visible to `get` immediately; its promise resolves after an
// fdatasync of the WAL file run on libuv's thread pool, shared by puts that arrive meanwhile.
//
// What this file is not: a real HSM's NVRAM. Anyone with the node's disk can edit or roll it back;
// docs/SECURITY.md says which guarantees that costs.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Nvram } from '../hsm-core/platform.ts';
import { WalSync } from '../stores/wal-sync.ts';

/** Keys and values the core stores are small (a record id; a state, a signature, a certificate). */
const MAX_KEY_LENGTH = 1024;
const MAX_VALUE_LENGTH = 1 << 20;

export class NvramFile implements Nvram {
  private readonly db: Database.Database;
  private readonly getStatement: Database.Statement<[Uint8Array], { value: Buffer }>;
  private readonly putStatement: Database.Statement<[Uint8Array, Uint8Array]>;
  private readonly fromStatement: Database.Statement<[Uint8Array], { key: Buffer; value: Buffer }>;
  /** Group commit: makes the WAL durable off the event loop (src/stores/wal-sync.ts). */
  readonly #sync: WalSync;

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
      // Commits do not fsync; put() does it, off the event loop (above). Checkpoints still sync.
      this.db.pragma('synchronous = NORMAL');
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
    this.fromStatement = this.db.prepare('SELECT key, value FROM nvram WHERE key >= ? ORDER BY key');
    this.#sync = new WalSync(path);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    const row = this.getStatement.get(key);
    return row === undefined ? undefined : new Uint8Array(row.value);
  }

  /**
   * Writes `value` at once (visible to get() before this returns) and resolves once it is durable.
   * Rejects, and the caller must not act on the value, if the disk refuses the sync.
   */
  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    checkKey(key);
    if (value.length > MAX_VALUE_LENGTH)
      throw new RangeError(`NVRAM value longer than ${MAX_VALUE_LENGTH} bytes`);
    this.putStatement.run(key, value);
    return this.#sync.durable();
  }

  *entries(prefix: Uint8Array): Iterable<[Uint8Array, Uint8Array]> {
    for (const row of this.fromStatement.iterate(prefix)) {
      const key = new Uint8Array(row.key);
      if (key.length < prefix.length || !prefix.every((byte, i) => key[i] === byte)) return;
      yield [key, new Uint8Array(row.value)];
    }
  }

  /** How many fdatasyncs made puts durable so far (fewer than the puts when they overlap). */
  get durableWrites(): number {
    return this.#sync.syncs;
  }

  /** Releases the file (and its lock). Puts still syncing finish on their own handle. */
  close(): void {
    if (this.db.open) this.db.close();
    this.#sync.close();
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new RangeError(`NVRAM key must be 1 to ${MAX_KEY_LENGTH} bytes`);
  }
}
