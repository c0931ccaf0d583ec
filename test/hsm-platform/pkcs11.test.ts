// Tests of src/hsm-platform/pkcs11.ts against a real SoftHSM2 token made for this test: the record
// key cannot be read (C_GetAttributeValue CKA_VALUE) nor wrapped out (C_WrapKey), nor copied or made
// extractable; sealing is a token operation in the shared layout; wrapped secrets open only in
// their own role; the ceremony step refuses to overwrite.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pkcs11js from 'pkcs11js';
import { openWithKey, SealOpenError, sealWithKey } from '../../src/hsm-platform/keystore.ts';
import {
  objectLabel,
  openPkcs11Keystore,
  type Pkcs11Location,
  provisionPkcs11Node,
} from '../../src/hsm-platform/pkcs11.ts';
import {
  acquireModule,
  type Pkcs11Module,
  type TokenSession,
} from '../../src/hsm-platform/pkcs11-session.ts';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm.ts';
import { copySecrets, randomNodeSecrets } from './secrets-fixture.ts';

const fleetId = new Uint8Array(randomBytes(16));
const aad = new TextEncoder().encode('strongroom/v1/test');
let hsm: SoftHsmFixture;
let files: string;
// Nodes share the fleet secrets and differ in their endorsement key, as the ceremony makes them.
const secrets = [randomNodeSecrets(), randomNodeSecrets()];
Object.assign(secrets[1]!, {
  ...copySecrets(secrets[0]!),
  endorsementPrivateKey: secrets[1]!.endorsementPrivateKey,
});
const location = (nodeIndex: number, extra: Partial<Pkcs11Location> = {}): Pkcs11Location => ({
  modulePath: hsm.modulePath,
  tokenLabel: `node-${nodeIndex}`,
  pin: hsm.userPin,
  secretsPath: join(files, `node-${nodeIndex}-secrets.json`),
  fleetId,
  nodeIndex,
  ...extra,
});

// The test's own view of the token, through the same module registry the keystore uses.
let module: Pkcs11Module;
let session: TokenSession;
const attribute = (handle: pkcs11js.Handle, type: number) =>
  session.run((p11, s) => p11.C_GetAttributeValue(s, handle, [{ type }])[0]!.value as Buffer);
const recordKeyHandle = () => session.findKeys(objectLabel(fleetId, 0, 'record-key'))[0]!;
const code = (error: unknown) => (error as { message: string }).message;

before(() => {
  hsm = createSoftHsm(['node-0', 'node-1']);
  files = mkdtempSync(join(hsm.dir, 'files-'));
  provisionPkcs11Node(location(0), copySecrets(secrets[0]!));
  provisionPkcs11Node(location(1), copySecrets(secrets[1]!));
  module = acquireModule(hsm.modulePath);
  session = module.openSession('node-0', hsm.userPin);
});
after(() => {
  session?.close();
  module?.release();
  hsm?.cleanup();
});

describe('PKCS#11 keystore (SoftHSM2)', () => {
  test('the record key cannot be read out of the token', () => {
    const key = recordKeyHandle();
    assert.deepEqual(attribute(key, pkcs11js.CKA_SENSITIVE), Buffer.of(1));
    assert.deepEqual(attribute(key, pkcs11js.CKA_EXTRACTABLE), Buffer.of(0));
    assert.throws(
      () => attribute(key, pkcs11js.CKA_VALUE),
      (e) => code(e) === 'CKR_ATTRIBUTE_SENSITIVE',
    );
  });

  test('the record key cannot be wrapped out, copied, or made extractable', () => {
    const key = recordKeyHandle();
    for (const mechanism of [pkcs11js.CKM_AES_KEY_WRAP, pkcs11js.CKM_AES_KEY_WRAP_PAD]) {
      // A session object: made afresh each time, since a failed call replaces the session.
      const wrappingKey = session.run((p11, s) =>
        p11.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_TOKEN, value: false },
          { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
          { type: pkcs11js.CKA_WRAP, value: true },
        ]),
      );
      assert.throws(
        () => session.run((p11, s) => p11.C_WrapKey(s, { mechanism }, wrappingKey, key, Buffer.alloc(64))),
        (e) => code(e) === 'CKR_KEY_UNEXTRACTABLE',
      );
    }
    assert.throws(() =>
      session.run((p11, s) =>
        p11.C_SetAttributeValue(s, key, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }]),
      ),
    );
    assert.throws(() =>
      session.run((p11, s) => p11.C_CopyObject(s, key, [{ type: pkcs11js.CKA_TOKEN, value: false }])),
    );
    assert.deepEqual(attribute(key, pkcs11js.CKA_EXTRACTABLE), Buffer.of(0));
  });

  test('the wrap key is just as locked in', () => {
    const wrapKey = session.findKeys(objectLabel(fleetId, 0, 'wrap-key'))[0]!;
    assert.deepEqual(attribute(wrapKey, pkcs11js.CKA_EXTRACTABLE), Buffer.of(0));
    assert.throws(
      () => attribute(wrapKey, pkcs11js.CKA_VALUE),
      (e) => code(e) === 'CKR_ATTRIBUTE_SENSITIVE',
    );
  });

  test('seals as a token operation with the fleet record key, in the shared layout', async () => {
    const keystore = openPkcs11Keystore(location(0));
    try {
      assert.match(keystore.description, /PKCS#11 token "node-0"/);
      const plaintext = new TextEncoder().encode('sealed part of a record');
      const sealed = await keystore.seal(plaintext, aad);
      assert.equal(sealed.length, 12 + plaintext.length + 16);
      assert.deepEqual(await keystore.open(sealed, aad), plaintext);
      // The token really used the ceremony's record key: the software path opens it and vice versa.
      assert.deepEqual(openWithKey(secrets[0]!.recordKey, sealed, aad), plaintext);
      assert.deepEqual(
        await keystore.open(sealWithKey(secrets[0]!.recordKey, plaintext, aad), aad),
        plaintext,
      );
      await assert.rejects(keystore.seal(new Uint8Array(0), aad), /empty plaintext/);
    } finally {
      keystore.close();
    }
  });

  test('tampered, truncated or re-labelled sealed data is refused, and the session still works after', async () => {
    const keystore = openPkcs11Keystore(location(0));
    try {
      const plaintext = randomBytes(40);
      const sealed = await keystore.seal(plaintext, aad);
      for (const i of [0, 11, 12, 30, sealed.length - 1]) {
        const tampered = Uint8Array.from(sealed);
        tampered[i]! ^= 1;
        await assert.rejects(keystore.open(tampered, aad), SealOpenError);
      }
      await assert.rejects(keystore.open(sealed, Uint8Array.of(1)), SealOpenError);
      await assert.rejects(keystore.open(sealed.subarray(0, 20), aad), SealOpenError);
      assert.deepEqual(await keystore.open(sealed, aad), new Uint8Array(plaintext));
    } finally {
      keystore.close();
    }
  });

  test('hands the core each wrapped secret, decrypted only on request', async () => {
    const keystore = openPkcs11Keystore(location(1));
    try {
      assert.deepEqual(await keystore.secret('opaque-server-setup'), secrets[1]!.opaqueServerSetup);
      assert.deepEqual(await keystore.secret('hpke-private-key'), secrets[1]!.hpkePrivateKey);
      assert.deepEqual(await keystore.secret('endorsement-private-key'), secrets[1]!.endorsementPrivateKey);
      const text = readFileSync(location(1).secretsPath, 'utf8');
      for (const value of Object.values(secrets[1]!)) {
        assert.equal(
          text.includes(Buffer.from(value).toString('hex')),
          false,
          'no secret in clear in the file',
        );
      }
    } finally {
      keystore.close();
    }
  });

  test('two nodes in one process, on two tokens, each with its own objects', async () => {
    const zero = openPkcs11Keystore(location(0));
    const one = openPkcs11Keystore(location(1));
    const sealed = await zero.seal(Uint8Array.of(1, 2, 3), aad);
    // Nodes share the record key, so node 1's token opens node 0's seal.
    assert.deepEqual(await one.open(sealed, aad), Uint8Array.of(1, 2, 3));
    zero.close();
    assert.deepEqual(await one.open(sealed, aad), Uint8Array.of(1, 2, 3));
    await assert.rejects(zero.open(sealed, aad), /closed/);
    one.close();
  });

  test('swapped entries in the secrets file open in no role', async () => {
    const path = join(files, 'swapped.json');
    const doc = JSON.parse(readFileSync(location(0).secretsPath, 'utf8'));
    [doc.secrets['hpke-private-key'], doc.secrets['endorsement-private-key']] = [
      doc.secrets['endorsement-private-key'],
      doc.secrets['hpke-private-key'],
    ];
    writeFileSync(path, JSON.stringify(doc));
    const keystore = openPkcs11Keystore(location(0, { secretsPath: path }));
    try {
      await assert.rejects(keystore.secret('hpke-private-key'), SealOpenError);
      await assert.rejects(keystore.secret('endorsement-private-key'), SealOpenError);
      assert.deepEqual(await keystore.secret('opaque-server-setup'), secrets[0]!.opaqueServerSetup);
    } finally {
      keystore.close();
    }
  });

  test("refuses a wrong PIN, an unknown token, another node's file, and a missing key", () => {
    // node-1: no session of this process is open on it, so the PIN is really checked (SoftHSM2 answers
    // CKR_USER_ALREADY_LOGGED_IN without checking it while another session is logged in).
    assert.throws(() => openPkcs11Keystore(location(1, { pin: '0000' })), /token "node-1": wrong PIN/);
    assert.throws(() => openPkcs11Keystore(location(0, { tokenLabel: 'nope' })), /0 tokens labelled "nope"/);
    assert.throws(
      () => openPkcs11Keystore(location(0, { secretsPath: location(1).secretsPath })),
      /belongs to node 1/,
    );
    // node-1's token holds no objects for node 0.
    assert.throws(
      () => openPkcs11Keystore(location(0, { tokenLabel: 'node-1' })),
      /holds 0 objects labelled strongroom:[0-9a-f]{32}:node-0:record-key/,
    );
  });

  test('the ceremony step refuses to overwrite a node already provisioned', () => {
    const fresh = location(0, { secretsPath: join(files, 'again.json') });
    assert.throws(
      () => provisionPkcs11Node(fresh, randomNodeSecrets()),
      /already holds .* refusing to overwrite/,
    );
    assert.equal(existsSync(fresh.secretsPath), false);
    assert.equal(session.findKeys(objectLabel(fleetId, 0, 'record-key')).length, 1);
  });
});
