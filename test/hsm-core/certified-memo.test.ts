// The core's one optimisation on its own (src/hsm-core/certified-memo.ts; docs/PROTOCOL.md §8):
// a verified hash is not verified again, a failed verification is never remembered, and the memo
// forgets its oldest hash past its limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CertifiedMemo } from '../../src/hsm-core/certified-memo.ts';

/** A verification that answers `result` and counts its calls. */
function counting(result: boolean) {
  const check = {
    calls: 0,
    verify: () => {
      check.calls++;
      return result;
    },
  };
  return check;
}

test('a hash verified once is accepted again without verifying', () => {
  const memo = new CertifiedMemo(4);
  const check = counting(true);
  assert.equal(memo.verifiedOnce('a', check.verify), true);
  assert.equal(memo.verifiedOnce('a', check.verify), true);
  assert.equal(check.calls, 1);
});

test('a failed verification is not remembered: the next one runs again', () => {
  const memo = new CertifiedMemo(4);
  const failing = counting(false);
  assert.equal(memo.verifiedOnce('a', failing.verify), false);
  assert.equal(memo.verifiedOnce('a', failing.verify), false);
  assert.equal(failing.calls, 2);
  const passing = counting(true);
  assert.equal(memo.verifiedOnce('a', passing.verify), true);
  assert.equal(passing.calls, 1);
});

test('past its limit the memo forgets the oldest hash first', () => {
  const memo = new CertifiedMemo(2);
  for (const hash of ['a', 'b', 'c']) memo.verifiedOnce(hash, () => true);
  const check = counting(true);
  memo.verifiedOnce('c', check.verify);
  memo.verifiedOnce('b', check.verify);
  assert.equal(check.calls, 0, 'the two newest are remembered');
  memo.verifiedOnce('a', check.verify);
  assert.equal(check.calls, 1, 'the oldest was forgotten');
});

test('a memo of size 0 verifies every time', () => {
  const memo = new CertifiedMemo(0);
  const check = counting(true);
  memo.verifiedOnce('a', check.verify);
  memo.verifiedOnce('a', check.verify);
  assert.equal(check.calls, 2);
});
