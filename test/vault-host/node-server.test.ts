// A vault node's HTTP face (src/vault-host/node-server.ts) and the bounded binary POST between
// fleet processes (src/vault-host/binary-http.ts), over real loopback sockets.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UnavailableError } from '../../src/errors.ts';
import { READY, type Readiness } from '../../src/observability/probes.ts';
import { GUESSES_SPENT_HEADER } from '../../src/protocol/vault/activity.ts';
import {
  keepAliveAgent,
  MAX_BODY_BYTES,
  postBytes,
  postForAnswer,
} from '../../src/vault-host/binary-http.ts';
import {
  BadRequestError,
  ENDORSE_PATH,
  HEALTH_PATH,
  MAX_CLIENT_FRAME_BYTES,
  METRICS_PATH,
  type NodeHandlers,
  type RunningNodeServer,
  startNodeServer,
  VAULT_PATH,
} from '../../src/vault-host/node-server.ts';
import { freePorts } from '../helpers/etcd-cluster.ts';

const calls: { route: string; body: Uint8Array }[] = [];
const failures: { route: string; status: number }[] = [];
let hang = false;
let readiness: Readiness = READY;

const handlers: NodeHandlers = {
  async client(frame) {
    calls.push({ route: 'client', body: frame });
    if (frame[0] === 0xee) throw new Error('host failed');
    return { frame: Uint8Array.of(0xc1, ...frame), activity: { guessesSpent: frame.length } };
  },
  async endorse(request) {
    calls.push({ route: 'endorse', body: request });
    if (hang) await new Promise((resolve) => setTimeout(resolve, 2000));
    if (request[0] === 0xbb) throw new BadRequestError('not for this route');
    return Uint8Array.of(0xe1, ...request);
  },
  health: () => ({ node: 'node-1', region: 'eu', ok: true }),
  ready: async () => readiness,
};

let node: RunningNodeServer;
before(async () => {
  node = await startNodeServer(handlers, { host: '127.0.0.1', port: 0 }, (event) => failures.push(event));
});
after(() => node.close());

const agent = keepAliveAgent();
after(() => agent.destroy());

describe('node server', () => {
  it('hands a client frame to the host and relays its answer byte for byte, with its activity hint', async () => {
    const answer = await postForAnswer(new URL(VAULT_PATH, node.url), Uint8Array.of(1, 2, 3), {
      timeoutMs: 1000,
      agent,
    });
    assert.deepEqual(answer.body, Uint8Array.of(0xc1, 1, 2, 3));
    assert.equal(answer.headers[GUESSES_SPENT_HEADER], '3', 'the hint docs/PROTOCOL.md §9d describes');
    assert.deepEqual(calls.at(-1), { route: 'client', body: Uint8Array.of(1, 2, 3) });
  });

  it('hands a peer request to the endorse handler only', async () => {
    const answer = await postBytes(new URL(ENDORSE_PATH, node.url), Uint8Array.of(2, 9), {
      timeoutMs: 1000,
      agent,
    });
    assert.deepEqual(answer, Uint8Array.of(0xe1, 2, 9));
    assert.equal(calls.at(-1)?.route, 'endorse');
  });

  it('answers health as JSON', async () => {
    const response = await fetch(new URL(HEALTH_PATH, node.url));
    assert.deepEqual(await response.json(), { node: 'node-1', region: 'eu', ok: true });
  });

  it('answers /health like /v1/health, and /ready with 200 or 503 and the reason the host gives', async () => {
    const health = await fetch(new URL('/health', node.url));
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { node: 'node-1', region: 'eu', ok: true });
    const ready = await fetch(new URL('/ready', node.url));
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
    readiness = { ready: false, reason: 'the record store does not answer' };
    try {
      const notReady = await fetch(new URL('/ready', node.url));
      assert.equal(notReady.status, 503);
      assert.deepEqual(await notReady.json(), { ready: false, reason: 'the record store does not answer' });
    } finally {
      readiness = READY;
    }
  });

  it('refuses an oversized body with 413 without calling a handler, per route', async () => {
    const before = calls.length;
    const oversized = [
      [VAULT_PATH, MAX_CLIENT_FRAME_BYTES + 1],
      [ENDORSE_PATH, MAX_BODY_BYTES + 1],
    ] as const;
    for (const [path, size] of oversized) {
      await assert.rejects(
        postBytes(new URL(path, node.url), new Uint8Array(size), { timeoutMs: 2000 }),
        (error: unknown) => error instanceof UnavailableError && error.message.includes('413'),
      );
    }
    assert.equal(calls.length, before);
    // Just under the endorse limit is accepted: the limits are per route.
    const big = await postBytes(new URL(ENDORSE_PATH, node.url), new Uint8Array(MAX_CLIENT_FRAME_BYTES + 1), {
      timeoutMs: 2000,
    });
    assert.equal(big.length, MAX_CLIENT_FRAME_BYTES + 2);
  });

  it('answers 400 when a handler says the request is malformed for its route', async () => {
    await assert.rejects(
      postBytes(new URL(ENDORSE_PATH, node.url), Uint8Array.of(0xbb), { timeoutMs: 1000, agent }),
      (error: unknown) => error instanceof UnavailableError && error.message.includes('400'),
    );
    assert.deepEqual(failures.at(-1), { route: ENDORSE_PATH, status: 400, error: 'not for this route' });
  });

  it('answers 404 for unknown paths and 405 for GET on a POST route', async () => {
    assert.equal((await fetch(new URL('/v1/other', node.url), { method: 'POST' })).status, 404);
    assert.equal((await fetch(new URL(VAULT_PATH, node.url))).status, 405);
  });

  it('answers 500 when the host fails, logs it, and the caller sees UnavailableError', async () => {
    await assert.rejects(
      postBytes(new URL(VAULT_PATH, node.url), Uint8Array.of(0xee), { timeoutMs: 1000, agent }),
      (error: unknown) => error instanceof UnavailableError && error.message.includes('500'),
    );
    assert.deepEqual(failures.at(-1), { route: VAULT_PATH, status: 500, error: 'host failed' });
  });

  it('gives up on a peer that does not answer within the timeout', async () => {
    hang = true;
    const started = Date.now();
    try {
      await assert.rejects(
        postBytes(new URL(ENDORSE_PATH, node.url), Uint8Array.of(1), { timeoutMs: 300, agent }),
        (error: unknown) => error instanceof UnavailableError && error.message.includes('within 300 ms'),
      );
    } finally {
      hang = false;
    }
    assert.ok(Date.now() - started < 1000);
  });

  it('reports a peer nobody listens on as UnavailableError', async () => {
    const [port] = await freePorts(1);
    await assert.rejects(
      postBytes(new URL(`http://127.0.0.1:${port}${ENDORSE_PATH}`), Uint8Array.of(1), { timeoutMs: 1000 }),
      (error: unknown) => error instanceof UnavailableError && error.message.includes('could not be reached'),
    );
  });

  it('serves Prometheus metrics counting requests by route and status, and their latency', async () => {
    const scrape = async () => {
      const response = await fetch(new URL(METRICS_PATH, node.url));
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      return response.text();
    };
    const count = (text: string, route: string, status: string) => {
      const prefix = `strongroom_vault_requests_total{route="${route}",status="${status}"} `;
      const line = text.split('\n').find((row) => row.startsWith(prefix));
      return line === undefined ? 0 : Number(line.slice(prefix.length));
    };
    const before = await scrape();
    await postBytes(new URL(VAULT_PATH, node.url), Uint8Array.of(7), { timeoutMs: 1000, agent });
    const missing = await fetch(new URL('/no-such-route', node.url));
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    const text = await scrape();
    assert.equal(count(text, VAULT_PATH, '200'), count(before, VAULT_PATH, '200') + 1, text);
    // An unknown path is counted under one label, so a scanner cannot grow the label set.
    assert.equal(count(text, 'other', '404'), count(before, 'other', '404') + 1, text);
    assert.doesNotMatch(text, /no-such-route/);
    assert.match(text, /strongroom_vault_request_duration_seconds_count\{route="\/v1\/vault"\} [1-9]/);
  });
});
