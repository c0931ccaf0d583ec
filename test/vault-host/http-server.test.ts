// The vault host's HTTP face (docs/PROTOCOL.md "Transport"): health, routing, size bounds, and a
// malformed body answered with an unsealed error frame.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HttpVaultTransport } from '../../src/client/vault/http-transport.ts';
import { UnavailableError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { deserializeResponseFrame, ErrorCode } from '../../src/protocol/vault/frames.ts';
import { MAX_FRAME_BYTES } from '../../src/vault-host/http-server.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

let t: TestFleet;
let url: string;
before(async () => {
  t = await startTestFleet();
  url = (await t.serve()).url;
});
after(() => t.close());

test('GET /v1/health answers ok; other paths 404', async () => {
  const health = await fetch(`${url}/v1/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { ok: true });
  assert.equal((await fetch(`${url}/v1/other`, { method: 'POST' })).status, 404);
  assert.equal((await fetch(`${url}/v1/vault`)).status, 404);
});

test('an oversized body is refused with 413; a malformed one gets an unopenable error frame', async () => {
  const big = await fetch(`${url}/v1/vault`, { method: 'POST', body: new Uint8Array(MAX_FRAME_BYTES + 1) });
  assert.equal(big.status, 413);
  const junk = await new HttpVaultTransport(url).exchange(nodePrimitives.randomBytes(50));
  assert.deepEqual(deserializeResponseFrame(junk), { kind: 'error', code: ErrorCode.unopenable });
});

test('a vault host that is not there is UnavailableError', async () => {
  const server = await t.serve();
  const gone = server.url;
  await server.close();
  await assert.rejects(
    new HttpVaultTransport(gone, { timeoutMs: 2000 }).exchange(new Uint8Array(10)),
    UnavailableError,
  );
});
