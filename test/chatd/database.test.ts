// ChatD's SQLite account store (src/chatd/database.ts; docs/CHATD.md "State"): a database made
// before blob objects ("Blobs and quota") opens with each blob's object being its own name, where
// its bytes were kept, and takes new uploads' objects from then on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteAccountStore } from '../../src/chatd/database.ts';

describe('SQLite account store', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chatd-db-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('opens a database from before blob objects, each blob kept under its own name', async () => {
    const path = join(dir, 'old.sqlite');
    const old = new Database(path);
    old.exec(`CREATE TABLE blobs (
      account_id INTEGER NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL, modified INTEGER NOT NULL,
      PRIMARY KEY (account_id, name));
      INSERT INTO blobs VALUES (1, 'b-1.srb', 10, 1000);`);
    old.close();
    const store = new SqliteAccountStore(path);
    try {
      assert.deepEqual(await store.blob(1, 'b-1.srb'), {
        name: 'b-1.srb',
        object: 'b-1.srb',
        size: 10,
        modifiedMs: 1000,
      });
      const replacing = { name: 'b-1.srb', object: `o-${'c'.repeat(32)}`, size: 20, modifiedMs: 2000 };
      assert.deepEqual(await store.putBlob(1, replacing, 100), {
        stored: true,
        replaced: { name: 'b-1.srb', object: 'b-1.srb', size: 10, modifiedMs: 1000 },
      });
      assert.deepEqual(await store.blobs(1, ''), [replacing]);
      assert.deepEqual(await store.putBlob(1, { ...replacing, name: 'b-2.srb', size: 81 }, 100), {
        stored: false,
      });
    } finally {
      await store.close();
    }
    // Opened again, the database is already in the new shape.
    const again = new SqliteAccountStore(path);
    assert.equal((await again.blob(1, 'b-1.srb'))?.object, `o-${'c'.repeat(32)}`);
    await again.close();
  });
});
