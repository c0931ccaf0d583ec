// SQLite record store (src/stores/record/sqlite.ts): the shared contract on real files, plus what
// only a file can show: two handles on one file racing, and an unopenable path.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UnavailableError } from '../../../src/errors.ts';
import { openRecordStore } from '../../../src/stores/record/index.ts';
import { SqliteRecordStore } from '../../../src/stores/record/sqlite.ts';
import { recordStoreContract } from './contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-sqlite-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

describe('SQLite record store: contract', () => {
  recordStoreContract(async () => {
    const path = join(dir, `store-${files++}.sqlite`);
    return { open: () => openRecordStore(`sqlite:${path}`) };
  });
});

describe('SQLite record store: files', () => {
  it('lets exactly one of two handles on the same file win a CAS on one revision', async () => {
    const path = join(dir, 'shared.sqlite');
    const a = new SqliteRecordStore(path);
    const b = new SqliteRecordStore(path);
    try {
      const id = randomBytes(16);
      assert.equal(await a.compareAndSet(id, undefined, { committed: Uint8Array.of(1) }), 1n);
      const slot = await b.get(id);
      assert.ok(slot);
      assert.equal(await b.compareAndSet(id, slot.revision, { committed: Uint8Array.of(2) }), 2n);
      assert.equal(await a.compareAndSet(id, slot.revision, { committed: Uint8Array.of(3) }), undefined);
      assert.deepEqual((await a.get(id))?.committed, Uint8Array.of(2));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('syncs an intent before it resolves or is read, leaves a commit to the next sync, syncs at close', async () => {
    const path = join(dir, 'durability.sqlite');
    const store = new SqliteRecordStore(path);
    const id = randomBytes(16);
    const intent = await store.compareAndSet(id, undefined, { intent: Uint8Array.of(1) });
    assert.equal(store.durableWrites, 1); // the nodes are asked to endorse only after this
    const committed = await store.compareAndSet(id, intent, { committed: Uint8Array.of(2) });
    assert.equal(store.durableWrites, 1); // visible at once, durable with the next sync
    assert.deepEqual((await store.get(id))?.committed, Uint8Array.of(2));
    const pending = await store.compareAndSet(id, committed, {
      committed: Uint8Array.of(2),
      intent: Uint8Array.of(3),
    });
    assert.equal(store.durableWrites, 2); // one fdatasync of the WAL covers the commit before it
    // Another handle reading the pending intent may complete it: it gets it only once it is durable.
    const other = new SqliteRecordStore(path);
    assert.deepEqual((await other.get(id))?.intent, Uint8Array.of(3));
    assert.equal(other.durableWrites, 1);
    await other.close();
    await store.compareAndSet(id, pending, { committed: Uint8Array.of(4) });
    await store.close();
    assert.equal(store.durableWrites, 3);
    const reopened = new SqliteRecordStore(path);
    try {
      assert.deepEqual((await reopened.get(id))?.committed, Uint8Array.of(4));
      await reopened.close();
      assert.equal(reopened.durableWrites, 0); // nothing written, nothing to sync
    } finally {
      await reopened.close();
    }
  });

  it('keeps its file in WAL mode, so readers run beside the writer', async () => {
    const path = join(dir, 'pragmas.sqlite');
    const store = new SqliteRecordStore(path);
    await store.close();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('fails its ping while its file is moved away, and answers again once it is back', async () => {
    const path = join(dir, 'moved.sqlite');
    const store = new SqliteRecordStore(path);
    try {
      await store.ping();
      renameSync(path, `${path}.away`);
      await assert.rejects(
        store.ping(),
        (error: unknown) => error instanceof UnavailableError && error.message.includes('moved.sqlite'),
      );
      writeFileSync(path, '');
      await assert.rejects(
        store.ping(),
        (error: unknown) =>
          error instanceof UnavailableError && /replaced by another file/.test(error.message),
      );
      renameSync(`${path}.away`, path);
      await store.ping();
    } finally {
      await store.close();
    }
  });

  it('fails with UnavailableError naming the path when the file cannot be opened', () => {
    const path = join(dir, 'missing-directory', 'store.sqlite');
    assert.throws(
      () => openRecordStore(path),
      (error: unknown) => error instanceof UnavailableError && error.message.includes('missing-directory'),
    );
  });
});
