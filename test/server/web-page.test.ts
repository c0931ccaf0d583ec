// The backup opener page on ChatD's HTTP server (src/server/web-page.ts): when dist/web is missing
// the embedded server logs the build hint and serves ChatD without the page, instead of failing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { EmbeddedServer } from '../../src/server/embedded.ts';
import { loadWebPage } from '../../src/server/web-page.ts';

/** A pino logger whose JSON lines are collected in `lines`. */
function collectingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, out), lines };
}

describe('the web page on ChatD', () => {
  it('is left out, with the build hint logged, when the page is not built', () => {
    const { logger, lines } = collectingLogger();
    const root = join(tmpdir(), 'no-such-web-build');
    assert.equal(loadWebPage(logger, root), undefined);
    const warning = lines.find((line) => String(line.msg).includes('without the backup opener page'));
    assert.ok(warning, 'a warning says the page is not served');
    assert.match(String(warning.msg), /the web page is not built/);
    assert.match(JSON.stringify(warning.hints), /node scripts\/build-web\.mjs/);
  });

  it('lets the embedded server start and serve ChatD without the page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-no-page-'));
    const { logger } = collectingLogger();
    const server = await EmbeddedServer.start({ dataDir: dir, logger, webRoot: join(dir, 'missing') });
    try {
      const base = server.url.replace(/^ws:/, 'http:').replace(/\/v1\/chatd$/, '');
      assert.equal(await (await fetch(`${base}/health`)).text(), 'ok\n');
      assert.equal((await fetch(`${base}/`)).status, 404, 'no page, and no crash');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
