// `strongroom keygen` (README "CLI"): one line, 16 groups of 4 hex digits, a fresh key each time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

describe('strongroom keygen', () => {
  it('prints a fresh key as 16 groups of 4 hex digits and nothing else', async () => {
    const [a, b] = await Promise.all([runCli(['keygen']), runCli(['keygen'])]);
    for (const run of [a, b]) {
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^[0-9a-f]{4}( [0-9a-f]{4}){15}\n$/);
      assert.equal(run.stderr, '');
    }
    assert.notEqual(a.stdout, b.stdout);
  });
});
