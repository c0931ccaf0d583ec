// src/web/serve.ts and `strongroom web`: the built page's files with their content types and the
// page's Content-Security-Policy as a header, nothing else, and clear failures at start.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serveWeb, type WebServer } from '../../src/web/serve.ts';
import { runCli } from '../helpers/cli.ts';
import { buildPage } from './browser.ts';

let built: string;
let server: WebServer;

before(async () => {
  built = await buildPage();
  server = await serveWeb({ host: '127.0.0.1', port: 0, root: built });
});

after(async () => {
  await server?.close();
  await rm(built, { recursive: true, force: true });
});

describe('the page server', () => {
  test('serves each file with its type, the CSP of the page, and no framing', async () => {
    const html = await readFile(join(built, 'index.html'), 'utf8');
    const policy = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    assert.match(policy, /default-src 'none'; script-src 'self'/);
    for (const [path, type, file] of [
      ['/', 'text/html; charset=utf-8', 'index.html'],
      ['/index.html', 'text/html; charset=utf-8', 'index.html'],
      ['/main.js', 'text/javascript; charset=utf-8', 'main.js'],
      ['/style.css', 'text/css; charset=utf-8', 'style.css'],
      ['/icon.svg', 'image/svg+xml', 'icon.svg'],
    ]) {
      const response = await fetch(new URL(path!, server.url));
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), type, path);
      assert.equal(response.headers.get('content-security-policy'), `${policy}; frame-ancestors 'none'`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), await readFile(join(built, file!)));
    }
  });

  test('answers 404 for anything else, including paths that climb out, and 405 for writes', async () => {
    for (const path of [
      '/package.json',
      '/../package.json',
      '/%2e%2e/package.json',
      '/main.ts',
      '/dist/web/main.js',
    ]) {
      const response = await fetch(new URL(path, server.url));
      assert.equal(response.status, 404, path);
      assert.equal(await response.text(), 'not found\n');
    }
    const post = await fetch(server.url, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(new URL('/main.js', server.url), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('refuses to start without a built page, saying how to build it', async () => {
    await assert.rejects(serveWeb({ host: '127.0.0.1', port: 0, root: join(built, 'nowhere') }), (error) => {
      assert.match((error as Error).message, /the web page is not built: .*index\.html is missing/);
      return true;
    });
  });
});

describe('strongroom web', () => {
  test('prints "listening on URL" and serves the page there until SIGTERM', async () => {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', main, 'web', '--listen', '127.0.0.1:0', '--root', built],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const [line] = (
        await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next()
      ).value.split('\n');
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(line);
      assert.ok(match, line);
      const response = await fetch(match[1]!);
      assert.equal(response.status, 200);
      assert.match(await response.text(), /<title>Open a Strongroom backup<\/title>/);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise((done) => child.once('exit', (exitCode) => done(exitCode)));
    assert.equal(code, 0);
  });

  test('a malformed --listen is a usage error, a missing build a plain failure', async () => {
    const [usage, missing] = await Promise.all([
      runCli(['web', '--listen', 'localhost']),
      runCli(['web', '--listen', '127.0.0.1:0', '--root', join(built, 'nowhere')]),
    ]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /strongroom: error: listen address "localhost" is not HOST:PORT/);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /strongroom: error: the web page is not built/);
    assert.match(missing.stderr, /strongroom: hint: run `npm run build`/);
  });
});
