// Group commit for a SQLite database in WAL mode with synchronous=NORMAL (the record store's and
// each node's NVRAM file): a commit is written at once, visible to readers, and made durable by an
// fdatasync of the WAL file run on libuv's thread pool instead of inside the commit on the event
// loop. Commits that arrive while one fdatasync runs share the next one. A WAL commit that has
// reached the disk is durable: SQLite replays it on open, so this is what synchronous=FULL does
// after each commit, moved off the event loop and shared between writers.
//
// It relies on the WAL file keeping its inode while this connection is open: SQLite deletes the WAL
// only when the last connection closes, and rewinds it in place after a checkpoint (no
// journal_size_limit is set). A checkpoint syncs the WAL before copying it, so frames a rewind
// overwrites were durable already.
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';

export class WalSync {
  /** The WAL file, opened at the first sync (SQLite creates it with the first write). */
  #wal: Promise<FileHandle> | undefined;
  /** The same handle once open: a sync then starts within durable(), before any await. */
  #handle: FileHandle | undefined;
  /** The fdatasync running now, and the one queued behind it for commits that came in meanwhile. */
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #syncs = 0;

  constructor(private readonly databasePath: string) {}

  /** Resolves once every commit made before this call is durable; rejects if the disk refuses. */
  durable(): Promise<void> {
    if (this.#queued !== undefined) return this.#queued;
    if (this.#running === undefined) return this.#start();
    const queued = this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#start();
      });
    this.#queued = queued;
    return queued;
  }

  /** How many fdatasyncs ran so far (fewer than the commits when they overlap). */
  get syncs(): number {
    return this.#syncs;
  }

  /** Closes the WAL handle once syncs in flight are done (they finish on their own handle). */
  close(): void {
    this.#wal?.then((handle) => handle.close()).catch(() => undefined);
    this.#wal = undefined;
    this.#handle = undefined;
  }

  #start(): Promise<void> {
    const sync = this.#sync().finally(() => {
      if (this.#running === sync) this.#running = undefined;
    });
    this.#running = sync;
    return sync;
  }

  async #sync(): Promise<void> {
    await (this.#handle ?? (await this.#open())).datasync();
    this.#syncs++;
  }

  #open(): Promise<FileHandle> {
    if (this.#wal === undefined) {
      const opening = openWal(this.databasePath);
      this.#wal = opening;
      opening.then(
        (handle) => {
          if (this.#wal === opening) this.#handle = handle;
        },
        // A failed open is retried by the next sync, not remembered.
        () => {
          if (this.#wal === opening) this.#wal = undefined;
        },
      );
    }
    return this.#wal;
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
