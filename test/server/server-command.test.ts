// `strongroom server` (src/cli/commands/server.ts, src/server/embedded.ts): prints `listening on URL`,
// writes DIR/fleet.pub, stops cleanly on SIGINT, reuses its fleet on the next start, and serves the
// backup opener page (dist/web) at `/` next to the WebSocket endpoint.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { defaultWebRoot } from '../../src/web/serve.ts';
import { ServerProcess } from '../e2e/helpers.ts';
import { runCli } from '../helpers/cli.ts';

/** Builds dist/web if it is missing; false when it cannot be built because esbuild is absent. */
function ensureWebBuilt(): boolean {
  if (existsSync(join(defaultWebRoot(), 'index.html'))) return true;
  try {
    createRequire(import.meta.url).resolve('esbuild');
  } catch {
    return false;
  }
  const root = join(defaultWebRoot(), '..', '..');
  execFileSync(process.execPath, [join(root, 'scripts', 'build-web.mjs')], { cwd: root, stdio: 'inherit' });
  return true;
}

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

  it('serves the backup opener page at / next to the WebSocket endpoint', async (t) => {
    if (!ensureWebBuilt()) {
      t.skip('esbuild is not installed, so dist/web cannot be built: the page is not checked');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'server-web-'));
    const server = await ServerProcess.start(dir);
    try {
      const base = server.url.replace(/^ws:/, 'http:').replace(/\/v1\/chatd$/, '');
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(await page.text(), readFileSync(join(defaultWebRoot(), 'index.html'), 'utf8'));
      const script = await fetch(`${base}/main.js`);
      assert.equal(script.status, 200);
      assert.equal(
        (await script.arrayBuffer()).byteLength,
        readFileSync(join(defaultWebRoot(), 'main.js')).length,
      );
      assert.equal(await (await fetch(`${base}/health`)).text(), 'ok\n', "ChatD's own routes still answer");
      assert.equal((await fetch(`${base}/nothing-here`)).status, 404);
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("serves ChatD's Prometheus metrics at /metrics, counting a WebSocket connection", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'server-metrics-'));
    const server = await ServerProcess.start(dir);
    try {
      const base = server.url.replace(/^ws:/, 'http:').replace(/\/v1\/chatd$/, '');
      const socket = new WebSocket(server.url);
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      socket.close();
      const response = await fetch(`${base}/metrics`);
      assert.equal(response.status, 200);
      assert.match(await response.text(), /^chatd_connections_total 1$/m);
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers /ready 503 while its record store file is moved away, and 200 once it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'server-ready-'));
    const server = await ServerProcess.start(dir);
    const records = join(dir, 'records.sqlite');
    try {
      const base = server.url.replace(/^ws:/, 'http:').replace(/\/v1\/chatd$/, '');
      const ready = async () => {
        const response = await fetch(`${base}/ready`);
        return { status: response.status, body: (await response.json()) as { reason?: string } };
      };
      assert.deepEqual(await ready(), { status: 200, body: { ready: true } });
      renameSync(records, `${records}.away`);
      const moved = await ready();
      assert.equal(moved.status, 503);
      assert.match(
        moved.body.reason ?? '',
        /^no vault node is ready \(node-0: the record store does not answer; node-1: the record store does not answer; node-2: the record store does not answer\)$/,
      );
      assert.equal((await fetch(`${base}/health`)).status, 200, 'the process itself is alive');
      renameSync(`${records}.away`, records);
      assert.deepEqual(await ready(), { status: 200, body: { ready: true } });
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes --data and --listen from the environment, a flag over its variable', async () => {
    const fromEnv = await runCli(['server'], {
      env: { STRONGROOM_DATA: tmpdir(), STRONGROOM_LISTEN: 'env-address' },
    });
    assert.equal(fromEnv.code, 2, fromEnv.stderr);
    assert.match(fromEnv.stderr, /listen address "env-address" is not HOST:PORT/);
    const flagWins = await runCli(['server', '--listen', 'flag-address'], {
      env: { STRONGROOM_DATA: tmpdir(), STRONGROOM_LISTEN: 'env-address' },
    });
    assert.equal(flagWins.code, 2, flagWins.stderr);
    assert.match(flagWins.stderr, /listen address "flag-address" is not HOST:PORT/);
    const noData = await runCli(['server'], { env: { STRONGROOM_DATA: undefined } });
    assert.equal(noData.code, 2);
    assert.match(noData.stderr, /--data/);
  });

  it('refuses a malformed --listen with a usage error', async () => {
    const result = await runCli(['server', '--data', tmpdir(), '--listen', 'nowhere']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /listen address "nowhere" is not HOST:PORT/);
  });

  it('refuses a --lock-grace that is not whole seconds up to an hour, from the flag or its variable', async () => {
    for (const grace of ['5s', '1.5', '3601']) {
      const result = await runCli(['server', '--data', tmpdir(), '--lock-grace', grace]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^strongroom: error: --lock-grace takes whole seconds from 0 to 3600/m);
    }
    const fromEnv = await runCli(['server', '--data', tmpdir()], { env: { STRONGROOM_LOCK_GRACE: 'soon' } });
    assert.equal(fromEnv.code, 2, fromEnv.stderr);
    assert.match(fromEnv.stderr, /--lock-grace takes whole seconds from 0 to 3600, got "soon"/);
  });
});
