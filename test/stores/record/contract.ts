// The RecordStore contract (src/stores/record/record-store.ts; docs/ARCHITECTURE.md "Record store": durability and a
// total order through compare-and-swap), run against every implementation: sqlite.test.ts and
// etcd.test.ts call recordStoreContract with a fixture opening their store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import type { RecordStore, StoredSlot } from '../../../src/stores/record/record-store.ts';

/** One empty store: `open()` may be called again after close() to reopen the same data. */
export interface StoreFixture {
  open(): RecordStore;
}

export async function collectIds(store: RecordStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of store.ids()) ids.push(Buffer.from(id).toString('hex'));
  return ids.sort();
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

async function mustGet(store: RecordStore, id: Uint8Array): Promise<StoredSlot> {
  const slot = await store.get(id);
  assert.ok(slot, 'slot should exist');
  return slot;
}

/** Registers the contract's tests; `fresh` gives a new empty store for each test. */
export function recordStoreContract(fresh: () => Promise<StoreFixture>): void {
  async function withStore(body: (store: RecordStore, fixture: StoreFixture) => Promise<void>) {
    const fixture = await fresh();
    const store = fixture.open();
    try {
      await body(store, fixture);
    } finally {
      await store.close();
    }
  }

  it('answers a ping while it is reachable', () =>
    withStore(async (store) => {
      await store.ping();
      await store.compareAndSet(randomBytes(16), undefined, { committed: bytes('x') });
      await store.ping();
    }));

  it('answers undefined for a record it never held', () =>
    withStore(async (store) => {
      assert.equal(await store.get(randomBytes(16)), undefined);
    }));

  it('creates a slot once and returns exactly the bytes written', () =>
    withStore(async (store) => {
      const id = randomBytes(16);
      const written = await store.compareAndSet(id, undefined, { intent: bytes('intent-1') });
      const slot = await mustGet(store, id);
      assert.equal(written, slot.revision, 'a successful CAS returns the new revision');
      assert.deepEqual(slot.intent, bytes('intent-1'));
      assert.equal(slot.committed, undefined);
      assert.equal(typeof slot.revision, 'bigint');
      // A second create loses and writes nothing.
      assert.equal(await store.compareAndSet(id, undefined, { committed: bytes('other') }), undefined);
      assert.deepEqual(await mustGet(store, id), slot);
    }));

  it('replaces the whole slot on a CAS at the current revision and refuses a stale one', () =>
    withStore(async (store) => {
      const id = randomBytes(32);
      await store.compareAndSet(id, undefined, { intent: bytes('proposal') });
      const first = await mustGet(store, id);
      const empty = new Uint8Array(0);
      const written = await store.compareAndSet(id, first.revision, {
        committed: bytes('state-1'),
        intent: empty,
      });
      const second = await mustGet(store, id);
      assert.equal(written, second.revision, 'the returned revision is the one a read shows');
      assert.notEqual(second.revision, first.revision);
      assert.deepEqual(second.committed, bytes('state-1'));
      assert.deepEqual(second.intent, empty, 'an empty part is kept, distinct from an absent one');
      // The old revision is stale now: nothing is written.
      assert.equal(await store.compareAndSet(id, first.revision, { committed: bytes('forged') }), undefined);
      assert.deepEqual(await mustGet(store, id), second);
      // Writing only `committed` clears the intent.
      const thirdRevision = await store.compareAndSet(id, second.revision, { committed: bytes('state-2') });
      const third = await mustGet(store, id);
      assert.equal(thirdRevision, third.revision);
      assert.deepEqual(third.committed, bytes('state-2'));
      assert.equal(third.intent, undefined);
    }));

  it('lets exactly one of many concurrent creates win', () =>
    withStore(async (store) => {
      const id = randomBytes(16);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.compareAndSet(id, undefined, { intent: bytes(`w${i}`) })),
      );
      const won = results.filter((revision) => revision !== undefined);
      assert.equal(won.length, 1);
      const winner = results.findIndex((revision) => revision !== undefined);
      assert.equal((await mustGet(store, id)).revision, won[0]);
      assert.deepEqual((await mustGet(store, id)).intent, bytes(`w${winner}`));
    }));

  it('lets exactly one of many concurrent CAS on one revision win, and loses no update', () =>
    withStore(async (store) => {
      const id = randomBytes(16);
      await store.compareAndSet(id, undefined, { committed: bytes('0') });
      const start = await mustGet(store, id);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.compareAndSet(id, start.revision, { committed: bytes(`x${i}`) }),
        ),
      );
      assert.equal(results.filter((revision) => revision !== undefined).length, 1);

      // Read-modify-CAS counters from several writers (two store handles): every increment lands
      // exactly once, so each revision had exactly one winner.
      await store.compareAndSet(id, (await mustGet(store, id)).revision, { committed: bytes('0') });
      const writers = 4;
      const perWriter = 5;
      const increment = async () => {
        for (;;) {
          const slot = await mustGet(store, id);
          const value = Number(new TextDecoder().decode(slot.committed));
          const next = { committed: bytes(String(value + 1)) };
          if ((await store.compareAndSet(id, slot.revision, next)) !== undefined) return;
        }
      };
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let n = 0; n < perWriter; n++) await increment();
        }),
      );
      const final = await mustGet(store, id);
      assert.equal(new TextDecoder().decode(final.committed), String(writers * perWriter));
    }));

  it('lists every record id it holds, of any length, and nothing else', () =>
    withStore(async (store) => {
      assert.deepEqual(await collectIds(store), []);
      const ids = [
        randomBytes(16),
        randomBytes(32),
        randomBytes(64),
        Buffer.alloc(16, 0xff),
        Buffer.alloc(16),
      ];
      for (const id of ids) await store.compareAndSet(id, undefined, { committed: id });
      assert.deepEqual(await collectIds(store), ids.map((id) => id.toString('hex')).sort());
    }));

  it('keeps every slot across close and reopen', () =>
    withStore(async (store, fixture) => {
      const id = randomBytes(16);
      await store.compareAndSet(id, undefined, { intent: bytes('i') });
      const slot = await mustGet(store, id);
      await store.compareAndSet(id, slot.revision, { committed: bytes('c'), intent: bytes('i2') });
      const before = await mustGet(store, id);
      await store.close();
      const reopened = fixture.open();
      try {
        assert.deepEqual(await mustGet(reopened, id), before);
        // The revision read before the reopen is still the one to pass back.
        const written = await reopened.compareAndSet(id, before.revision, { committed: bytes('c2') });
        assert.equal(written, (await mustGet(reopened, id)).revision);
        assert.deepEqual((await mustGet(reopened, id)).committed, bytes('c2'));
      } finally {
        await reopened.close();
      }
    }));
}
