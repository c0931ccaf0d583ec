// The whole-story demo (src/server/demo.ts) on the embedded server, with a small sample and small
// Argon2id so it stays fast here; `strongroom demo` runs it with the real sizes and parameters.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runServerDemo } from '../../src/server/demo.ts';
import { runCli } from '../helpers/cli.ts';

describe('server demo', () => {
  it('tells the story: a wrong password costs one guess, the restore verifies byte for byte', async () => {
    const steps: string[] = [];
    const result = await runServerDemo({
      seed: 3,
      mediaBytes: 2 * 1024 * 1024,
      messages: 500,
      argon2id: { memory: 1024, iterations: 1, parallelism: 1 },
      onStep: (line) => steps.push(line),
    });
    assert.deepEqual(result.comparison.differences, []);
    assert.equal(result.limit, 10);
    assert.equal(result.guessesLeft, 9, 'the wrong guess stays spent; the right one was refunded');
    assert.ok(steps.some((s) => /a wrong password cost one guess: 9 left/.test(s)));
    assert.ok(result.backupBytes > result.plainBytes, 'ciphertext carries tags, headers and padding');
    // The second day's backup uploads its new media and the changed pages of the database only.
    const day = result.secondDay;
    assert.ok(day.added.mediaFiles >= 1 && day.added.messages === 50, JSON.stringify(day.added));
    assert.ok(day.plainBytes > result.plainBytes, 'the history grew');
    assert.ok(
      day.uploadedBytes < day.added.bytes + 1024 * 1024,
      `the second backup uploaded ${day.uploadedBytes} for ${day.added.bytes} bytes of new media`,
    );
    assert.ok(
      steps.some((s) =>
        /^a day later: 50 new messages and \d+ new media files; backed up [0-9a-f]{32}/.test(s),
      ),
    );
    assert.equal(existsSync(result.workDir), false, 'the temporary directory is gone');
  });

  it('`strongroom demo` runs the story by default (real Argon2id) and exits 0 when every byte matches', async () => {
    const run = await runCli(['demo', '--media-mib', '2', '--messages', '500', '--seed', '5']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /a wrong password cost one guess: 9 left/);
    assert.match(run.stdout, /verified \d+ entries, .* every byte matches/);
    assert.match(run.stdout, /^second day: 50 new messages, \d+ new media files \([\d.]+ [KM]iB\)$/m);
    assert.match(
      run.stdout,
      /^backup [0-9a-f]{32}: [\d.]+ MiB backed up, [\d.]+ [KM]iB uploaded \([\d.]+ % of the first backup's upload\)/m,
    );
    assert.match(run.stdout, /the wrong password left 9, the right one was refunded: 9 left/);
  });
});
