// The core's bounded caches (src/hsm-core/context.ts; docs/PROTOCOL.md section 8 "Host and core"): a BoundedMap keeps
// at most `limit` entries, forgets the oldest first and hands each forgotten value to onEvict (the
// opened-frame cache zeroes response secrets there); take() gives the entry to the caller without
// onEvict, clear() evicts all. Refusal carries the reason the host may learn.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedMap, Refusal } from '../../src/hsm-core/context.ts';
import { RefusalReason } from '../../src/protocol/vault/responses.ts';

function recorded(limit: number) {
  const evicted: string[] = [];
  const map = new BoundedMap<string>(limit, (value) => evicted.push(value));
  return { map, evicted };
}

test('a bounded map keeps exactly `limit` entries and forgets the oldest first', () => {
  const { map, evicted } = recorded(2);
  map.set('a', 'A');
  map.set('b', 'B');
  assert.deepEqual(evicted, []);
  assert.equal(map.get('a'), 'A');
  assert.equal(map.has('b'), true);
  map.set('c', 'C');
  assert.deepEqual(evicted, ['A']);
  assert.equal(map.has('a'), false);
  assert.equal(map.get('a'), undefined);
  assert.equal(map.get('b'), 'B');
  assert.equal(map.get('c'), 'C');
  map.set('d', 'D');
  assert.deepEqual(evicted, ['A', 'B']);
  assert.equal(map.has('c'), true);
  assert.equal(map.has('d'), true);
});

test('take hands the entry over without evicting it; clear evicts every entry', () => {
  const { map, evicted } = recorded(4);
  map.set('a', 'A');
  map.set('b', 'B');
  map.set('c', 'C');
  assert.equal(map.take('b'), 'B');
  assert.equal(map.has('b'), false);
  assert.equal(map.take('b'), undefined);
  assert.deepEqual(evicted, []);
  map.clear();
  assert.deepEqual(evicted, ['A', 'C']);
  assert.equal(map.has('a'), false);
  assert.equal(map.has('c'), false);
  // A map without onEvict forgets quietly.
  const quiet = new BoundedMap<number>(1);
  quiet.set('x', 1);
  quiet.set('y', 2);
  assert.equal(quiet.has('x'), false);
  assert.equal(quiet.get('y'), 2);
  quiet.clear();
  assert.equal(quiet.has('y'), false);
});

test('a refusal names itself and carries its reason and detail', () => {
  const refusal = new Refusal(RefusalReason.badProof, 'proof MAC does not verify');
  assert.ok(refusal instanceof Error);
  assert.equal(refusal.name, 'Refusal');
  assert.equal(refusal.reason, RefusalReason.badProof);
  assert.equal(refusal.message, 'proof MAC does not verify');
});
