// What both keystores share (docs/SECURITY.md "The three deployments"): the fleet secrets the key
// ceremony makes, the sealed-box layout, and the labels that bind each stored secret to its name and
// fleet. The two implementations are software.ts (files) and pkcs11.ts (a PKCS#11 token).
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { CoreSecretName, KeyStore } from '../hsm-core/platform.ts';
import { nodePrimitives } from './primitives.ts';

/**
 * Layout of everything `KeyStore.seal` returns, in both keystores (so a fleet may mix them and the
 * one sealed fleet config opens everywhere): nonce (12, random) || AES-256-GCM ciphertext || tag (16).
 * Random 96-bit nonces under one fleet-wide key stay within NIST SP 800-38D's 2^32-seal limit for
 * any realistic fleet; a fleet that might seal more than that must rotate (new fleet, migration).
 */
export const SEAL_NONCE_LENGTH = 12;
export const SEAL_TAG_LENGTH = 16;
export const RECORD_KEY_LENGTH = 32;
export const X25519_PRIVATE_KEY_LENGTH = 32;
export const ED25519_SEED_LENGTH = 32;

export const CORE_SECRET_NAMES: readonly CoreSecretName[] = [
  'opaque-server-setup',
  'hpke-private-key',
  'endorsement-private-key',
];

/**
 * The secrets of one node as the ceremony hands them to a keystore writer. Fleet-wide: the record key,
 * the OPAQUE server setup, the HPKE private key. Per node: the endorsement key. The ceremony zeroes
 * these buffers once every node's keystore is written (zeroNodeSecrets).
 */
export interface NodeSecrets {
  /** AES-256 key sealing records, pending blobs, login states and the fleet config. */
  recordKey: Uint8Array;
  /**
   * UTF-8 bytes of @serenity-kit/opaque's `serverSetup` string (from server.createSetup()): the
   * OPRF seed and the server's AKE key pair. The core decodes it with TextDecoder for the library.
   */
  opaqueServerSetup: Uint8Array;
  /** X25519 private key (32 bytes) opening client requests (HPKE, RFC 9180). */
  hpkePrivateKey: Uint8Array;
  /** This node's Ed25519 private key as a 32-byte seed (RFC 8032), signing endorsements. */
  endorsementPrivateKey: Uint8Array;
}

export function checkNodeSecrets(secrets: NodeSecrets): void {
  const sizes: Array<[string, Uint8Array, number]> = [
    ['record key', secrets.recordKey, RECORD_KEY_LENGTH],
    ['HPKE private key', secrets.hpkePrivateKey, X25519_PRIVATE_KEY_LENGTH],
    ['endorsement private key', secrets.endorsementPrivateKey, ED25519_SEED_LENGTH],
  ];
  for (const [what, bytes, length] of sizes) {
    if (bytes.length !== length) throw new RangeError(`keystore: ${what} must be ${length} bytes`);
  }
  if (secrets.opaqueServerSetup.length === 0) throw new RangeError('keystore: OPAQUE server setup is empty');
}

/** Ends the life of the ceremony's copies of a node's secrets. */
export function zeroNodeSecrets(secrets: NodeSecrets): void {
  secrets.recordKey.fill(0);
  secrets.opaqueServerSetup.fill(0);
  secrets.hpkePrivateKey.fill(0);
  secrets.endorsementPrivateKey.fill(0);
}

/** The field of NodeSecrets holding a CoreSecretName. */
export function secretField(secrets: NodeSecrets, name: CoreSecretName): Uint8Array {
  switch (name) {
    case 'opaque-server-setup':
      return secrets.opaqueServerSetup;
    case 'hpke-private-key':
      return secrets.hpkePrivateKey;
    case 'endorsement-private-key':
      return secrets.endorsementPrivateKey;
  }
}

/**
 * aad binding a stored (wrapped) secret to its name, fleet and node, so a host that swaps entries in
 * a node's secrets file gets an authentication failure, not another secret in that role.
 */
export function wrappedSecretAad(name: CoreSecretName, fleetId: Uint8Array, nodeIndex: number): Uint8Array {
  const label = new TextEncoder().encode(`strongroom/v1/wrapped-secret/${name}`);
  const out = new Uint8Array(label.length + fleetId.length + 1);
  out.set(label);
  out.set(fleetId, label.length);
  out[label.length + fleetId.length] = nodeIndex;
  return out;
}

/** A keystore a host opened and must close when the node stops. */
export interface NodeKeyStore extends KeyStore {
  close(): void;
}

/** Raised when sealed data does not open: says nothing about why (wrong key, tampered, wrong aad). */
export class SealOpenError extends Error {
  constructor() {
    super('sealed data did not authenticate (tampered, truncated, or sealed for another purpose or fleet)');
    this.name = 'SealOpenError';
  }
}

/** Both keystores refuse empty plaintext: SoftHSM2 rejects zero-length CKM_AES_GCM input. */
export function checkSealInput(plaintext: Uint8Array): void {
  if (plaintext.length === 0) throw new RangeError('keystore: cannot seal an empty plaintext');
}

/** Splits a sealed box, or throws SealOpenError if it is too short to be one. */
export function splitSealed(sealed: Uint8Array): { nonce: Uint8Array; ciphertext: Uint8Array } {
  if (sealed.length < SEAL_NONCE_LENGTH + SEAL_TAG_LENGTH + 1) throw new SealOpenError();
  return { nonce: sealed.subarray(0, SEAL_NONCE_LENGTH), ciphertext: sealed.subarray(SEAL_NONCE_LENGTH) };
}

/**
 * The sealed-box layout computed in this process with the key in memory: the software keystore's
 * seal, and the ceremony's seal of the fleet config (it holds the record key while it runs).
 */
export function sealWithKey(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkSealInput(plaintext);
  const nonce = nodePrimitives.randomBytes(SEAL_NONCE_LENGTH);
  const ciphertext = nodePrimitives.aes256GcmSeal(key, nonce, plaintext, aad);
  const sealed = new Uint8Array(nonce.length + ciphertext.length);
  sealed.set(nonce);
  sealed.set(ciphertext, nonce.length);
  return sealed;
}

/** Opens what sealWithKey (or the token's seal) made; throws SealOpenError if it does not authenticate. */
export function openWithKey(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  const { nonce, ciphertext } = splitSealed(sealed);
  try {
    return nodePrimitives.aes256GcmOpen(key, nonce, ciphertext, aad);
  } catch {
    throw new SealOpenError();
  }
}

/**
 * Writes a keystore file the ceremony makes: never over an existing one (a fleet is never
 * overwritten), readable by its owner only, and on disk before the ceremony reports success.
 */
export function writeKeystoreFile(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
