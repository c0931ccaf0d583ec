// `strongroom demo --standalone` (README "demo"), small: generates, backs up with a manual key,
// adds a second day and backs up again, restores and verifies; exit 0 and a summary that says how
// little the second backup uploaded and that every byte matched. The server flow (the
// default) is tested with the server, and here on a real terminal (tmux) for what a person sees.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { screenAfterCli } from '../helpers/terminal.ts';

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
    const mib = (value: string, unit: string) => Number(value) / (unit === 'K' ? 1024 : 1);
    const day = /^second day: 200 new messages, \d+ new media files \(([\d.]+) ([KM])iB\)$/m.exec(run.stdout);
    const second = /^backup [0-9a-f]{32}: [\d.]+ MiB backed up, ([\d.]+) ([KM])iB uploaded/m.exec(run.stdout);
    assert.ok(day !== null && second !== null, run.stdout);
    // Only the new media and the database's changed pages are uploaded, not the history again.
    const uploaded = mib(second[1]!, second[2]!);
    assert.ok(
      uploaded < mib(day[1]!, day[2]!) + 1,
      `the second day uploaded ${uploaded} MiB:\n${run.stdout}`,
    );
    assert.match(run.stdout, /^restored the latest backup in /m);
    assert.match(run.stdout, /verified \d+ entries, .* every byte matches/);
  });

  it('rejects a malformed option as a usage error', async () => {
    const run = await runCli(['demo', '--standalone', '--media-mib', 'lots']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--media-mib must be a whole number/);
  });

  it('on a terminal, the progress bars leave every narrative line whole and readable', async () => {
    const { code, screen } = await screenAfterCli(['demo', '--media-mib', '3', '--messages', '2000']);
    assert.equal(code, 0, screen);
    const lines = screen.split('\n');
    for (const expected of [
      /^server: ChatD \+ 3-node vault fleet at ws:\/\/127\.0\.0\.1:\d+\/v1\/chatd$/,
      /^phone joined account demo-user with a code sent out of band$/,
      /^password backup enabled: K is in the vault behind the password, 10 guesses allowed$/,
      /^backed up \S+ to the server's storage \(ciphertext only\)$/,
      /^a day later: 200 new messages and \d+ new media files; backed up [0-9a-f]{32}, uploading only what was new$/,
      /^the phone is lost$/,
      /^new phone joined the account with a fresh code; it holds no key$/,
      /^a wrong password cost one guess: 9 left$/,
      /^the right password recovered K; the vault counts 1 wrong password\(s\) since the password was set$/,
      /^sample history: 6 chats, 2000 messages, \d+ media files, [\d.]+ MiB$/,
      /^verified \d+ entries, .* every byte matches$/,
    ]) {
      assert.ok(
        lines.some((line) => expected.test(line.trimEnd())),
        `no line ${expected} on the screen:\n${screen}`,
      );
    }
    assert.doesNotMatch(screen, /\[[█░]+\]/, `a progress bar was left on the screen:\n${screen}`);
  });
});
