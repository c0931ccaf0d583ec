// `strongroom demo --standalone` (README "demo"), small: generates, backs up with a manual key,
// restores and verifies; exit 0 and a summary that says every byte matched. The server flow (the
// default) is tested with the server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

describe('strongroom demo', () => {
  it('round-trips a small sample history and says every byte matches', async () => {
    const run = await runCli([
      'demo',
      '--standalone',
      '--media-mib',
      '3',
      '--messages',
      '2000',
      '--seed',
      '7',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /sample history: 6 chats, 2000 messages, \d+ media files/);
    assert.match(run.stdout, /verified \d+ entries, .* every byte matches/);
  });

  it('rejects a malformed option as a usage error', async () => {
    const run = await runCli(['demo', '--standalone', '--media-mib', 'lots']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--media-mib must be a whole number/);
  });
});
