// ChatD's HTTP face (src/chatd/server.ts): health, optional Prometheus metrics, and upgrades only on
// the ChatD path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { type Harness, startChatd } from './helpers.ts';

describe('ChatD HTTP endpoints', () => {
  let h: Harness;
  let base: string;
  before(async () => {
    h = await startChatd({ metrics: true });
    base = h.server.url.replace(/^ws/, 'http').replace(/\/v1\/chatd$/, '');
  });
  after(() => h.close());

  it('answers /health and counts connections and bytes in /metrics', async () => {
    assert.equal(await (await fetch(`${base}/health`)).text(), 'ok\n');
    await h.join('metrics-user');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^chatd_connections_total 1$/m);
    assert.match(metrics, /^chatd_bytes_total\{channel="device-in"\} [1-9]\d*$/m);
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
  });

  it('refuses a WebSocket upgrade on any other path', async () => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/elsewhere`);
    const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
    assert.match(error.message, /Unexpected server response: 404/);
  });
});
