// RFC 9807 test vectors for the OPAQUE server the core uses (@serenity-kit/opaque over opaque-ke).
// The library takes a server set-up string: base64url of oprf_seed (64) || server private key (32)
// || a dummy public key (32, opaque-ke's ServerSetup serialization; only used for fake records,
// which Strongroom never asks for). So the RFC's seed and key can be injected. The server's own
// nonces and key share cannot: KE2 is checked on the parts they do not touch (the evaluated
// element) and on the server's public key inside the registration response.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { fromBase64Url, toBase64Url } from '../../src/protocol/vault/bytes.ts';

const vector = Object.fromEntries(
  readFileSync(new URL('../vectors/vault/rfc9807-real-1.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(': ') as [string, string]),
);
const hex = (name: string) => Uint8Array.from(Buffer.from(vector[name]!, 'hex'));

function serverSetup(): string {
  return toBase64Url(
    Uint8Array.from([...hex('oprf_seed'), ...hex('server_private_key'), ...hex('server_public_key')]),
  );
}

test('the injected set-up yields the RFC server public key', async () => {
  await opaque.ready;
  assert.deepEqual(fromBase64Url(opaque.server.getPublicKey(serverSetup())), hex('server_public_key'));
});

test('registration response matches RFC 9807 C.1.1', async () => {
  await opaque.ready;
  const { registrationResponse } = opaque.server.createRegistrationResponse({
    serverSetup: serverSetup(),
    userIdentifier: Buffer.from(hex('credential_identifier')).toString('utf8'), // "1234"
    registrationRequest: toBase64Url(hex('registration_request')),
  });
  assert.equal(
    Buffer.from(fromBase64Url(registrationResponse)).toString('hex'),
    vector.registration_response,
  );
});

test("KE2 evaluated element matches RFC 9807 C.1.1; the masked parts use the server's own randomness", async () => {
  await opaque.ready;
  const { loginResponse } = opaque.server.startLogin({
    serverSetup: serverSetup(),
    userIdentifier: '1234',
    registrationRecord: toBase64Url(hex('registration_upload')),
    startLoginRequest: toBase64Url(hex('KE1')),
  });
  const ke2 = fromBase64Url(loginResponse);
  assert.equal(ke2.length, hex('KE2').length);
  assert.deepEqual(ke2.subarray(0, 32), hex('KE2').subarray(0, 32));
  assert.notDeepEqual(ke2.subarray(32, 64), hex('KE2').subarray(32, 64), "masking nonce is the server's own");
});
