// `strongroom server` (src/cli/commands/server.ts, src/server/embedded.ts): prints `listening on URL`,
// writes DIR/fleet.pub, stops cleanly on SIGINT, and reuses its fleet on the next start.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ServerProcess } from '../e2e/helpers.ts';
import { runCli } from '../helpers/cli.ts';

describe('strongroom server', () => {
  it('starts, writes fleet.pub, stops on SIGINT, and keeps its fleet across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'server-cmd-'));
    try {
      const first = await ServerProcess.start(dir);
      assert.match(first.url, /^ws:\/\/127\.0\.0\.1:\d+\/v1\/chatd$/);
      const fleetPub = readFileSync(join(dir, 'fleet.pub'), 'utf8');
      assert.match(fleetPub, /strongroom-fleet-pub\/v1/);
      assert.equal(await first.stop('SIGINT'), 0);
      const second = await ServerProcess.start(dir);
      assert.equal(
        readFileSync(join(dir, 'fleet.pub'), 'utf8'),
        fleetPub,
        'the same fleet, not a new ceremony',
      );
      assert.equal(await second.stop('SIGTERM'), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed --listen with a usage error', async () => {
    const result = await runCli(['server', '--data', tmpdir(), '--listen', 'nowhere']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--listen must be HOST:PORT/);
  });
});
