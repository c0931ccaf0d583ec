// The core's Refusal (src/hsm-core/context.ts; docs/PROTOCOL.md section 8 "Host and core"): it
// carries the reason the host may learn.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Refusal } from '../../src/hsm-core/context.ts';
import { RefusalReason } from '../../src/protocol/vault/responses.ts';

test('a refusal names itself and carries its reason and detail', () => {
  const refusal = new Refusal(RefusalReason.badProof, 'proof MAC does not verify');
  assert.ok(refusal instanceof Error);
  assert.equal(refusal.name, 'Refusal');
  assert.equal(refusal.reason, RefusalReason.badProof);
  assert.equal(refusal.message, 'proof MAC does not verify');
});
