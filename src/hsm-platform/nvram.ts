// The core's non-volatile state (DESIGN.md section 4: the mark is "written before it answers") as
// a local SQLite file, one per node, locked exclusively while open so two host processes can never
// share one node's marks (which would let the pair endorse two different states at one version).
//
// Durability without blocking the event loop, with group commit: a `put` writes its row at once
// (WAL journal, synchronous=NORMAL: the commit appends to the WAL file but does not fsync), so the
// value is visible to `get` immediately; its promise resolves after an fdatasync of the WAL file
// run on libuv's thread pool. Puts that arrive while one fdatasync is running share the next one.
// A WAL commit that has reached the disk is durable: SQLite replays it on open. This is exactly what
// synchronous=FULL does after each commit, moved off the event loop and shared between writers.
// It relies on SQLite keeping one WAL file for the connection's life, which it does in exclusive
// locking mode with no journal_size_limit (the file is reused after checkpoints, removed at close).
//
// What this file is not: a real HSM's NVRAM. Anyone with the node's disk can edit or roll it back;
// docs/SECURITY.md says which guarantees that costs.
import { mkdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Nvram } from '../hsm-core/platform.ts';

/** Keys and values the core stores are small (a record id; a state, a signature, a certificate). */
const MAX_KEY_LENGTH = 1024;
const MAX_VALUE_LENGTH = 1 << 20;

export class NvramFile implements Nvram {
  private readonly db: Database.Database;
  private readonly getStatement: Database.Statement<[Uint8Array], { value: Buffer }>;
  private readonly putStatement: Database.Statement<[Uint8Array, Uint8Array]>;
  private readonly fromStatement: Database.Statement<[Uint8Array], { key: Buffer; value: Buffer }>;
  /** The WAL file, opened at the first sync (SQLite creates it with the first write). */
  #wal: Promise<FileHandle> | undefined;
  /** The fdatasync running now, and the one queued behind it for puts that came in meanwhile. */
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #durableWrites = 0;

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
    return this.#durable();
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
    return this.#durableWrites;
  }

  /** Releases the file (and its lock). Puts still syncing finish on their own handle. */
  close(): void {
    if (this.db.open) this.db.close();
    this.#wal?.then((handle) => handle.close()).catch(() => undefined);
    this.#wal = undefined;
  }

  /** A sync that starts after this call: the one queued, or a new one if none is running. */
  #durable(): Promise<void> {
    if (this.#queued !== undefined) return this.#queued;
    if (this.#running === undefined) return this.#startSync();
    const queued = this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#startSync();
      });
    this.#queued = queued;
    return queued;
  }

  #startSync(): Promise<void> {
    const sync = this.#syncWal().finally(() => {
      if (this.#running === sync) this.#running = undefined;
    });
    this.#running = sync;
    return sync;
  }

  async #syncWal(): Promise<void> {
    if (this.#wal === undefined) {
      const opening = openWal(this.path);
      this.#wal = opening;
      // A failed open is retried by the next sync, not remembered.
      opening.catch(() => {
        if (this.#wal === opening) this.#wal = undefined;
      });
    }
    await (await this.#wal).datasync();
    this.#durableWrites++;
  }
}

/** Opens the WAL file and makes its directory entry durable (once: the file lives until close). */
async function openWal(path: string): Promise<FileHandle> {
  const wal = await open(`${path}-wal`, 'r+');
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
  return wal;
}

function checkKey(key: Uint8Array): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new RangeError(`NVRAM key must be 1 to ${MAX_KEY_LENGTH} bytes`);
  }
}
