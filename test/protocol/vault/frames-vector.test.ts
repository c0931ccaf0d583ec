// Checks test/vectors/vault/frames.txt: the client's seal (WebCrypto @hpke/core suite, fixed ekm)
// and the core's response seal (node:crypto suite, fixed nonce) reproduce the committed frames,
// and each side opens the other's committed bytes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Reader } from '../../../src/protocol/vault/bytes.ts';
import { RecordSummary, serializeResponse } from '../../../src/protocol/vault/responses.ts';
import { buildFrameVector } from './frame-vector-lib.ts';

const fields = Object.fromEntries(
  readFileSync(new URL('../../vectors/vault/frames.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(': ') as [string, string]),
);
const hex = (name: string) => Uint8Array.from(Buffer.from(fields[name]!, 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test('request and response frames match the committed vector', async () => {
  const responseBody = hex('responseBody');
  const summary = RecordSummary.read(new Reader(responseBody.subarray(1), 'summary'));
  const built = await buildFrameVector({
    hpkeIkm: hex('hpkeIkm'),
    ekm: hex('ekm'),
    fleetId: hex('fleetId'),
    recordId: hex('recordId'),
    incarnation: 7n,
    ke1: hex('body').subarray(8),
    responseNonce: hex('responseNonce'),
    summary,
  });
  assert.equal(toHex(built.hpkePublicKey), fields.hpkePublicKey);
  assert.equal(toHex(built.body), fields.body);
  assert.equal(toHex(built.request.frame), fields.requestFrame);
  assert.equal(toHex(serializeResponse(built.response)), fields.responseBody);
  assert.equal(toHex(built.responseFrame), fields.responseFrame);
  // The client opens the committed response bytes to the committed outcome.
  const opened = await built.request.open(hex('responseFrame'));
  assert.equal(toHex(serializeResponse(opened)), fields.responseBody);
  // One flipped bit of the committed response: the client does not accept it.
  const altered = hex('responseFrame');
  altered[altered.length - 1]! ^= 1;
  await assert.rejects(built.request.open(altered), /did not authenticate/);
});
