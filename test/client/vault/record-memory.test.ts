// The device's in-process record memory (src/client/vault/memory.ts): one entry per record id,
// replaced by set, removed by forget; ids are told apart byte by byte (two-digit hex per byte), so
// ids whose unpadded hex would read the same never share an entry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InMemoryRecordMemory } from '../../../src/client/vault/memory.ts';

const remembered = (version: bigint) => ({
  incarnation: 1n,
  highestVersion: version,
  failedGuessesAtLastSuccess: 0,
});

test('set, get and forget work per record id; equal bytes are the same record', async () => {
  const memory = new InMemoryRecordMemory();
  const id = Uint8Array.from({ length: 16 }, (_, i) => i);
  assert.equal(await memory.get(id), undefined);
  await memory.set(id, remembered(1n));
  assert.deepEqual(await memory.get(Uint8Array.from(id)), remembered(1n));
  await memory.set(id, remembered(2n));
  assert.deepEqual(await memory.get(id), remembered(2n));
  await memory.forget(Uint8Array.from(id));
  assert.equal(await memory.get(id), undefined);
});

test('ids whose unpadded hex digits coincide are different records', async () => {
  const memory = new InMemoryRecordMemory();
  // Unpadded, 0x01 0x10 and 0x11 0x00 both read "110".
  const a = Uint8Array.of(0x01, 0x10, ...new Uint8Array(14));
  const b = Uint8Array.of(0x11, 0x00, ...new Uint8Array(14));
  await memory.set(a, remembered(1n));
  assert.equal(await memory.get(b), undefined);
  await memory.set(b, remembered(5n));
  assert.deepEqual(await memory.get(a), remembered(1n));
  await memory.forget(b);
  assert.deepEqual(await memory.get(a), remembered(1n));
});
