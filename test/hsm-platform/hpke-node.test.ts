// Tests of src/hsm-platform/hpke-node.ts: RFC 9180 A.1.1 (test/vectors/hpke/rfc9180-a.1.1-base.txt)
// end to end, interoperation with @hpke/core's default WebCrypto suite in both directions, and the
// failure paths (tampering, wrong info, bad and low-order keys, auth mode).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  Aes256Gcm,
  CipherSuite,
  DecapError,
  DeserializeError,
  DhkemX25519HkdfSha256,
  HkdfSha256,
  NotSupportedError,
  OpenError,
} from '@hpke/core';
import {
  createNodeHpkeSuite,
  NodeAesGcm,
  NodeDhkemX25519HkdfSha256,
  NodeHkdfSha256,
} from '../../src/hsm-platform/hpke-node.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: ArrayBuffer | Uint8Array) =>
  Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');

/** Parses the vector file: `name: value` lines, plus repeated `encryption:` and `export:` lines. */
function loadVector() {
  const text = readFileSync(new URL('../vectors/hpke/rfc9180-a.1.1-base.txt', import.meta.url), 'utf8');
  const fields = new Map<string, string>();
  const encryptions: Array<{ seq: number; pt: string; aad: string; nonce: string; ct: string }> = [];
  const exports: Array<{ context: string; length: number; value: string }> = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, rest] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()];
    if (name === 'encryption') {
      const [seq, pt, aad, nonce, ct] = rest.split(' ') as [string, string, string, string, string];
      encryptions.push({ seq: Number(seq), pt, aad, nonce, ct });
    } else if (name === 'export') {
      const [context, length, value] = rest.split(' ') as [string, string, string];
      exports.push({ context: context === '-' ? '' : context, length: Number(length), value });
    } else fields.set(name, rest);
  }
  const field = (name: string) => {
    const value = fields.get(name);
    assert.ok(value !== undefined, `vector has ${name}`);
    return value;
  };
  return { field, encryptions, exports };
}

const vector = loadVector();
const rfcSuite = () =>
  new CipherSuite({
    kem: new NodeDhkemX25519HkdfSha256(),
    kdf: new NodeHkdfSha256(),
    aead: new NodeAesGcm(128),
  });
const defaultSuite = () =>
  new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

describe('node:crypto HPKE against RFC 9180 A.1.1', () => {
  test('DeriveKeyPair gives the vector key pairs', async () => {
    const kem = new NodeDhkemX25519HkdfSha256();
    for (const who of ['E', 'R']) {
      const pair = await kem.deriveKeyPair(hex(vector.field(`ikm${who}`)));
      assert.equal(toHex(await kem.serializePublicKey(pair.publicKey)), vector.field(`pk${who}m`));
      assert.equal(toHex(await kem.serializePrivateKey(pair.privateKey)), vector.field(`sk${who}m`));
    }
  });

  test('Encap and Decap give the vector enc and shared secret', async () => {
    const kem = new NodeDhkemX25519HkdfSha256();
    const recipientPublicKey = await kem.deserializePublicKey(hex(vector.field('pkRm')));
    const { enc, sharedSecret } = await kem.encap({ recipientPublicKey, ekm: hex(vector.field('ikmE')) });
    assert.equal(toHex(enc), vector.field('enc'));
    assert.equal(toHex(sharedSecret), vector.field('shared_secret'));
    const recipientKey = await kem.deserializePrivateKey(hex(vector.field('skRm')));
    assert.equal(toHex(await kem.decap({ recipientKey, enc })), vector.field('shared_secret'));
  });

  test('sender context: every listed ciphertext and exported value', async () => {
    const suite = rfcSuite();
    const sender = await suite.createSenderContext({
      recipientPublicKey: await suite.kem.deserializePublicKey(hex(vector.field('pkRm'))),
      info: hex(vector.field('info')),
      ekm: hex(vector.field('ikmE')),
    });
    assert.equal(toHex(sender.enc), vector.field('enc'));
    const expected = new Map(vector.encryptions.map((e) => [e.seq, e]));
    for (let seq = 0; seq <= 256; seq++) {
      const listed = expected.get(seq);
      const aad = listed ? hex(listed.aad) : new Uint8Array(0);
      const ct = await sender.seal(hex(vector.encryptions[0]!.pt), aad);
      if (listed) assert.equal(toHex(ct), listed.ct, `sequence number ${seq}`);
    }
    for (const e of vector.exports) {
      assert.equal(toHex(await sender.export(hex(e.context), e.length)), e.value);
    }
  });

  test('recipient context: opens the vector ciphertexts and exports the same values', async () => {
    const suite = rfcSuite();
    const recipient = await suite.createRecipientContext({
      recipientKey: await suite.kem.deserializePrivateKey(hex(vector.field('skRm'))),
      enc: hex(vector.field('enc')),
      info: hex(vector.field('info')),
    });
    // Sequence numbers 0, 1, 2 are consecutive in the vector; open them in order.
    for (const e of vector.encryptions.slice(0, 3)) {
      assert.equal(toHex(await recipient.open(hex(e.ct), hex(e.aad))), e.pt);
    }
    for (const e of vector.exports) {
      assert.equal(toHex(await recipient.export(hex(e.context), e.length)), e.value);
    }
  });
});

describe('node:crypto HPKE interoperates with @hpke/core default suite', () => {
  const info = new TextEncoder().encode('strongroom/v1/vault-request');
  const aad = new TextEncoder().encode('header');
  const plaintext = new TextEncoder().encode('request body');

  test('default seals, node opens; node seals, default opens; exports agree', async () => {
    const fast = createNodeHpkeSuite();
    const reference = defaultSuite();
    const pair = await reference.kem.generateKeyPair();
    const skBytes = await reference.kem.serializePrivateKey(pair.privateKey);
    const pkBytes = await reference.kem.serializePublicKey(pair.publicKey);
    const fastPrivate = await fast.kem.deserializePrivateKey(skBytes);
    const fastPublic = await fast.kem.deserializePublicKey(pkBytes);

    const sealed = await reference.seal({ recipientPublicKey: pair.publicKey, info }, plaintext, aad);
    assert.deepEqual(
      new Uint8Array(await fast.open({ recipientKey: fastPrivate, enc: sealed.enc, info }, sealed.ct, aad)),
      plaintext,
    );
    const back = await fast.seal({ recipientPublicKey: fastPublic, info }, plaintext, aad);
    assert.deepEqual(
      new Uint8Array(
        await reference.open({ recipientKey: pair.privateKey, enc: back.enc, info }, back.ct, aad),
      ),
      plaintext,
    );

    const sender = await reference.createSenderContext({ recipientPublicKey: pair.publicKey, info });
    const recipient = await fast.createRecipientContext({ recipientKey: fastPrivate, enc: sender.enc, info });
    const longContext = new Uint8Array(2000).fill(7); // beyond node's hkdfSync info limit
    for (const context of [new TextEncoder().encode('strongroom/v1/vault-response'), longContext]) {
      assert.equal(toHex(await recipient.export(context, 32)), toHex(await sender.export(context, 32)));
    }
  });

  test('tampered ciphertext, other aad, other info: OpenError', async () => {
    const fast = createNodeHpkeSuite();
    const pair = await fast.kem.generateKeyPair();
    const sealed = await fast.seal({ recipientPublicKey: pair.publicKey, info }, plaintext, aad);
    const tampered = new Uint8Array(sealed.ct).slice();
    tampered[3]! ^= 1;
    const params = { recipientKey: pair.privateKey, enc: sealed.enc, info };
    await assert.rejects(fast.open(params, tampered, aad), OpenError);
    await assert.rejects(fast.open(params, sealed.ct, new Uint8Array(0)), OpenError);
    await assert.rejects(fast.open({ ...params, info: new Uint8Array(1) }, sealed.ct, aad), OpenError);
    await assert.rejects(fast.open(params, new Uint8Array(8), aad), OpenError);
    assert.deepEqual(new Uint8Array(await fast.open(params, sealed.ct, aad)), plaintext);
  });

  test('bad enc and keys: wrong length, low-order point, foreign key objects, auth mode', async () => {
    const fast = createNodeHpkeSuite();
    const pair = await fast.kem.generateKeyPair();
    const sealed = await fast.seal({ recipientPublicKey: pair.publicKey, info }, plaintext, aad);
    await assert.rejects(
      fast.open({ recipientKey: pair.privateKey, enc: new Uint8Array(31), info }, sealed.ct, aad),
      DeserializeError,
    );
    // u = 0 is a low-order point: X25519 gives the all-zero value, which RFC 9180 7.1.4 rejects.
    await assert.rejects(
      fast.open({ recipientKey: pair.privateKey, enc: new Uint8Array(32), info }, sealed.ct, aad),
      DecapError,
    );
    await assert.rejects(fast.kem.deserializePrivateKey(new Uint8Array(33)), DeserializeError);
    const foreign = await defaultSuite().kem.generateKeyPair();
    await assert.rejects(
      fast.open({ recipientKey: foreign.privateKey, enc: sealed.enc, info }, sealed.ct, aad),
      DecapError,
    );
    await assert.rejects(
      fast.kem.decap({ recipientKey: pair.privateKey, enc: sealed.enc, senderPublicKey: pair.publicKey }),
      NotSupportedError,
    );
    assert.equal(JSON.stringify({ key: pair.privateKey }), '{"key":"(redacted)"}');
  });
});
