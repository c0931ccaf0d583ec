// What the untrusted store and the NVRAM files hold (docs/ARCHITECTURE.md "Components and trust"): after an
// enable, a wrong guess, a recovery and a password change, neither the SQLite record store nor any
// node's NVRAM file contains K, the wrapped K, auth_key or the password — searched byte for byte.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { Labels } from '../../src/protocol/vault/labels.ts';
import { CertifiedState } from '../../src/protocol/vault/record.ts';
import { recordAad, SealedSecrets } from '../../src/protocol/vault/sealed.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

let t: TestFleet;
before(async () => {
  t = await startTestFleet();
  await t.serve();
});
after(() => t.close());

test('the record store and NVRAM files hold no K, wrapped K, auth_key or password', async () => {
  const client = t.client();
  const recordId = nodePrimitives.randomBytes(16);
  const key = nodePrimitives.randomBytes(32);
  const passwords = ['first-password-9f2c', 'second-password-71ab'];
  await client.enable(recordId, passwords[0]!, key, 5);
  await assert.rejects(client.recover(recordId, 'wrong-guess-55aa'));
  await client.recover(recordId, passwords[0]!);
  await client.changePassword(recordId, key, passwords[1]!);
  await client.recover(recordId, passwords[1]!);

  // The test holds a node's keystore (it ran the ceremony), so it can see what the seal hides.
  const state = CertifiedState.deserialize((await t.store.get(recordId))!.committed!).state;
  const aad = recordAad(Labels.sealedRecord, t.publicInfo.fleetId, recordId, state.incarnation);
  const secrets = SealedSecrets.deserialize(await t.platforms[0]!.keystore.open(state.sealed, aad));
  const authKey = nodePrimitives.hkdfSha256(key, new Uint8Array(0), Labels.vaultAuth, 32);
  assert.deepEqual(secrets.authKey, authKey, 'the search below looks for bytes that really exist');

  const needles: Array<[string, Uint8Array]> = [
    ['K', key],
    ['wrapped K', secrets.wrappedK],
    ['wrapped K ciphertext', secrets.wrappedK.subarray(12)],
    ['auth_key', authKey],
    ['credential id', secrets.credentialId],
    ...passwords.map((p): [string, Uint8Array] => [`password ${p}`, new TextEncoder().encode(p)]),
  ];
  await t.store.close(); // flush the WAL into the file as well as leaving it to search
  for (const nvram of t.nvrams) nvram.close();
  const files = readdirSync(t.dir, { recursive: true, encoding: 'utf8' }).filter(
    (name) => name.includes('records.sqlite') || name.includes('nvram'),
  );
  assert.ok(files.length >= 4, `searched ${files.join(', ')}`);
  for (const name of files) {
    const bytes = readFileSync(join(t.dir, name));
    for (const [what, needle] of needles) {
      assert.equal(bytes.indexOf(Buffer.from(needle)), -1, `${name} contains ${what}`);
    }
  }
});
