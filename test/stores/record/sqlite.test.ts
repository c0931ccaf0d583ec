// SQLite record store (src/stores/record/sqlite.ts): the shared contract on real files, plus what
// only a file can show: two handles on one file racing, and an unopenable path.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
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

  it('fails with UnavailableError naming the path when the file cannot be opened', () => {
    const path = join(dir, 'missing-directory', 'store.sqlite');
    assert.throws(
      () => openRecordStore(path),
      (error: unknown) => error instanceof UnavailableError && error.message.includes('missing-directory'),
    );
  });
});
