// The one test with the real key-stretching parameters (docs/PROTOCOL.md "Key stretching"):
// Argon2id 64 MiB, 3 passes, 1 lane by default; a device with other parameters derives other keys,
// so its right password is a wrong guess (which is why the parameters are pinned, not a preset).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_ARGON2ID, VaultClient } from '../../../src/client/vault/client.ts';
import { HttpVaultTransport } from '../../../src/client/vault/http-transport.ts';
import { WrongPasswordError } from '../../../src/errors.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { startTestFleet, TEST_ARGON2ID, type TestFleet } from '../../vault-host/helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
  await t.serve();
});
after(() => t.close());

test('default parameters are Argon2id 64 MiB / 3 / 1 and round-trip; other parameters do not open', async () => {
  assert.deepEqual(DEFAULT_ARGON2ID, { memory: 65536, iterations: 3, parallelism: 1 });
  const transport = new HttpVaultTransport(t.servers[0]!.url);
  const real = new VaultClient({ fleet: t.publicInfo, transport });
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  await real.enable(recordId, 'right', key, 5);
  const weak = new VaultClient({ fleet: t.publicInfo, transport, argon2id: TEST_ARGON2ID });
  await assert.rejects(weak.recover(recordId, 'right'), WrongPasswordError);
  assert.deepEqual((await real.recover(recordId, 'right')).key.exposeBytes(), key);
});
