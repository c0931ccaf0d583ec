// Tests of src/hsm-platform/software.ts: the file round-trips the secrets, seals in the shared layout,
// refuses tampering, other fleets and nodes, overwriting; warns that it is not an HSM.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openWithKey, SealOpenError, sealWithKey } from '../../src/hsm-platform/keystore.ts';
import { openSoftwareKeystore, writeSoftwareKeystore } from '../../src/hsm-platform/software.ts';
import { copySecrets, randomNodeSecrets } from './secrets-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-softks-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fleetId = new Uint8Array(randomBytes(16));
const aad = new TextEncoder().encode('strongroom/v1/test');

function written(name: string) {
  const secrets = randomNodeSecrets();
  const path = join(dir, name);
  writeSoftwareKeystore(path, fleetId, 1, copySecrets(secrets));
  return { secrets, path };
}

describe('software keystore', () => {
  test('opens with a loud warning and hands back each secret as a fresh copy', async () => {
    const { secrets, path } = written('a.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const lines: string[] = [];
    const keystore = openSoftwareKeystore(path, { fleetId, nodeIndex: 1, warn: (line) => lines.push(line) });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /WARNING: node 1 keeps its keys in a software keystore .* not an HSM/);
    assert.match(keystore.description, /NOT an HSM/);
    assert.deepEqual(await keystore.secret('hpke-private-key'), secrets.hpkePrivateKey);
    assert.deepEqual(await keystore.secret('endorsement-private-key'), secrets.endorsementPrivateKey);
    const setup = await keystore.secret('opaque-server-setup');
    assert.deepEqual(setup, secrets.opaqueServerSetup);
    setup.fill(0); // the caller's copy ends its life; the keystore's does not
    assert.deepEqual(await keystore.secret('opaque-server-setup'), secrets.opaqueServerSetup);
    keystore.close();
    await assert.rejects(keystore.secret('hpke-private-key'), /closed/);
    await assert.rejects(keystore.seal(aad, aad), /closed/);
  });

  test('seals in the shared layout under the record key; tampering and other aad are refused', async () => {
    const { secrets, path } = written('b.json');
    const keystore = openSoftwareKeystore(path, { fleetId, nodeIndex: 1, warn: () => {} });
    const plaintext = new TextEncoder().encode('sealed part');
    const sealed = await keystore.seal(plaintext, aad);
    assert.equal(sealed.length, 12 + plaintext.length + 16);
    assert.deepEqual(await keystore.open(sealed, aad), plaintext);
    assert.deepEqual(openWithKey(secrets.recordKey, sealed, aad), plaintext);
    assert.deepEqual(await keystore.open(sealWithKey(secrets.recordKey, plaintext, aad), aad), plaintext);
    const other = await keystore.seal(plaintext, aad);
    assert.notDeepEqual(other.subarray(0, 12), sealed.subarray(0, 12), 'fresh nonce per seal');
    for (let i = 0; i < sealed.length; i += 7) {
      const tampered = Uint8Array.from(sealed);
      tampered[i]! ^= 0x80;
      await assert.rejects(keystore.open(tampered, aad), SealOpenError);
    }
    await assert.rejects(keystore.open(sealed, Uint8Array.of(...aad, 0)), SealOpenError);
    await assert.rejects(keystore.open(sealed.subarray(0, 28), aad), SealOpenError);
    await assert.rejects(keystore.seal(new Uint8Array(0), aad), /empty plaintext/);
    keystore.close();
  });

  test('refuses another fleet, another node, a damaged file, and overwriting', () => {
    const { path } = written('c.json');
    const quiet = { warn: () => {} };
    assert.throws(
      () => openSoftwareKeystore(path, { fleetId: new Uint8Array(16), nodeIndex: 1, ...quiet }),
      /belongs to another fleet/,
    );
    assert.throws(() => openSoftwareKeystore(path, { fleetId, nodeIndex: 2, ...quiet }), /belongs to node 1/);
    const text = readFileSync(path, 'utf8');
    assert.throws(() => writeSoftwareKeystore(path, fleetId, 1, randomNodeSecrets()), /EEXIST/);
    assert.equal(readFileSync(path, 'utf8'), text);
    const damaged = join(dir, 'damaged.json');
    const doc = JSON.parse(text);
    writeFileSync(damaged, JSON.stringify({ ...doc, recordKey: doc.recordKey.slice(2) }));
    assert.throws(
      () => openSoftwareKeystore(damaged, { fleetId, nodeIndex: 1, ...quiet }),
      /record key must be 32/,
    );
    writeFileSync(damaged, JSON.stringify({ ...doc, hpkePrivateKey: 'zz' }));
    assert.throws(() => openSoftwareKeystore(damaged, { fleetId, nodeIndex: 1, ...quiet }), /not hex/);
    writeFileSync(damaged, '{');
    assert.throws(
      () => openSoftwareKeystore(damaged, { fleetId, nodeIndex: 1, ...quiet }),
      /could not be read/,
    );
  });
});
