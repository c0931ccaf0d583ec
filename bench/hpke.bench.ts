// HPKE open cost on the vault side: @hpke/core's default WebCrypto suite (the reference) against the
// node:crypto suite of src/hsm-platform/hpke-node.ts, same keys and messages, interleaved runs.
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { createNodeHpkeSuite } from '../src/hsm-platform/hpke-node.ts';
import { fixed, median } from './stats.ts';

const ROUNDS = 400;
const WARMUP = 50;

export default async function (): Promise<string> {
  const reference = new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
  const fast = createNodeHpkeSuite();
  const pair = await reference.kem.generateKeyPair();
  const referenceKey = pair.privateKey;
  const fastKey = await fast.kem.deserializePrivateKey(
    await reference.kem.serializePrivateKey(pair.privateKey),
  );
  const fastPublic = await fast.kem.deserializePublicKey(
    await reference.kem.serializePublicKey(pair.publicKey),
  );
  const info = new TextEncoder().encode('strongroom/v1/vault-request');
  const aad = new Uint8Array(64);
  const body = new Uint8Array(512); // a login request's size order: KE1 (96) plus bindings

  const messages = await Promise.all(
    Array.from({ length: ROUNDS + WARMUP }, () =>
      reference.seal({ recipientPublicKey: pair.publicKey, info }, body, aad),
    ),
  );
  const times = {
    referenceOpen: [] as number[],
    fastOpen: [] as number[],
    referenceSeal: [] as number[],
    fastSeal: [] as number[],
  };
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const { enc, ct } = messages[i]!;
    let t = performance.now();
    await reference.open({ recipientKey: referenceKey, enc, info }, ct, aad);
    const referenceOpen = performance.now() - t;
    t = performance.now();
    await fast.open({ recipientKey: fastKey, enc, info }, ct, aad);
    const fastOpen = performance.now() - t;
    t = performance.now();
    await reference.seal({ recipientPublicKey: pair.publicKey, info }, body, aad);
    const referenceSeal = performance.now() - t;
    t = performance.now();
    await fast.seal({ recipientPublicKey: fastPublic, info }, body, aad);
    const fastSeal = performance.now() - t;
    if (i < WARMUP) continue;
    times.referenceOpen.push(referenceOpen);
    times.fastOpen.push(fastOpen);
    times.referenceSeal.push(referenceSeal);
    times.fastSeal.push(fastSeal);
  }
  const row = (what: string, ref: number[], ours: number[]) =>
    `| ${what} | ${fixed(median(ref), 3)} | ${fixed(median(ours), 3)} | ${fixed(median(ref) / median(ours), 1)}× |`;
  return [
    '## HPKE (vault side): node:crypto suite vs @hpke/core default',
    '',
    `DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode, ${body.length}-byte body; median of ${ROUNDS} runs, ms.`,
    '',
    '| operation | @hpke/core default | node:crypto suite | speed-up |',
    '|---|---|---|---|',
    row('open (single-shot, key already imported)', times.referenceOpen, times.fastOpen),
    row('seal (single-shot)', times.referenceSeal, times.fastSeal),
  ].join('\n');
}
