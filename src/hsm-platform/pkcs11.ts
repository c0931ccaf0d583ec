// The PKCS#11 keystore (docs/SECURITY.md "Ordinary process + PKCS#11 token"): the record-sealing key lives in
// the node's token as a non-extractable AES-256 object and every seal/open is a token operation
// (CKM_AES_GCM); the secrets the token cannot use directly (OPAQUE server setup, HPKE private key,
// endorsement private key) are stored outside the token encrypted under a second non-extractable
// token key (the wrap key) and decrypted only into the core's memory. Tested against SoftHSM2; a
// network HSM speaks the same interface.
//
// Per node, the token holds two objects, found by label:
//   strongroom:<fleet id hex>:node-<i>:record-key   imported by the ceremony (the fleet shares it)
//   strongroom:<fleet id hex>:node-<i>:wrap-key     generated inside the token
// and the node directory holds pkcs11-secrets.json (each secret sealed under the wrap key, with
// wrappedSecretAad binding it to its name, fleet and node).
//
// SoftHSM2 (2.6) reads CK_GCM_PARAMS in the PKCS#11 v2.40 layout (pIv, ulIvLen, ulIvBits, pAAD,
// ulAADLen, ulTagBits); pkcs11js's CK_PARAMS_AES_GCM builds the older layout without ulIvBits, which
// SoftHSM2 rejects, so this module passes CK_PARAMS_AES_GCM_v240 with ivBits = 96.
import { readFileSync } from 'node:fs';
import pkcs11js from 'pkcs11js';
import type { CoreSecretName } from '../hsm-core/platform.ts';
import {
  CORE_SECRET_NAMES,
  checkNodeSecrets,
  checkSealInput,
  type NodeKeyStore,
  type NodeSecrets,
  SEAL_NONCE_LENGTH,
  SEAL_TAG_LENGTH,
  SealOpenError,
  secretField,
  splitSealed,
  wrappedSecretAad,
  writeKeystoreFile,
} from './keystore.ts';
import { acquireModule, type Pkcs11Module, type TokenSession } from './pkcs11-session.ts';
import { nodePrimitives } from './primitives.ts';

const SECRETS_FORMAT = 'strongroom-pkcs11-secrets/v1';

/** Where a node's token material is; the PIN itself is never stored, only read from the environment. */
export interface Pkcs11Location {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  modulePath: string;
  /** Label of the node's token. */
  tokenLabel: string;
  /** User PIN of the token. */
  pin: string;
  /** The node's pkcs11-secrets.json. */
  secretsPath: string;
  fleetId: Uint8Array;
  nodeIndex: number;
}

export function objectLabel(fleetId: Uint8Array, nodeIndex: number, role: 'record-key' | 'wrap-key'): string {
  return `strongroom:${Buffer.from(fleetId).toString('hex')}:node-${nodeIndex}:${role}`;
}

/** Attributes shared by both keys: token objects, private, sensitive, never extractable or copyable. */
function keyTemplate(label: string): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_COPYABLE, value: false },
    { type: pkcs11js.CKA_MODIFIABLE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_SIGN, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
}

function gcm(nonce: Uint8Array, aad: Uint8Array): pkcs11js.Mechanism {
  return {
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: {
      type: pkcs11js.CK_PARAMS_AES_GCM_v240,
      iv: Buffer.from(nonce),
      ivBits: SEAL_NONCE_LENGTH * 8,
      aad: Buffer.from(aad),
      tagBits: SEAL_TAG_LENGTH * 8,
    } as pkcs11js.AesGCM,
  };
}

/** nonce || GCM(key in token) as one token operation. */
function tokenSeal(session: TokenSession, key: pkcs11js.Handle, plaintext: Uint8Array, aad: Uint8Array) {
  checkSealInput(plaintext);
  const nonce = nodePrimitives.randomBytes(SEAL_NONCE_LENGTH);
  const sealed = session.run((p11, handle) => {
    p11.C_EncryptInit(handle, gcm(nonce, aad), key);
    return p11.C_Encrypt(handle, Buffer.from(plaintext), Buffer.alloc(plaintext.length + SEAL_TAG_LENGTH));
  });
  return new Uint8Array(Buffer.concat([nonce, sealed]));
}

/** Opens what tokenSeal made; any token error is reported as SealOpenError, without detail. */
function tokenOpen(session: TokenSession, key: pkcs11js.Handle, sealed: Uint8Array, aad: Uint8Array) {
  const { nonce, ciphertext } = splitSealed(sealed);
  try {
    return new Uint8Array(
      session.run((p11, handle) => {
        p11.C_DecryptInit(handle, gcm(nonce, aad), key);
        return p11.C_Decrypt(handle, Buffer.from(ciphertext), Buffer.alloc(ciphertext.length));
      }),
    );
  } catch {
    // SoftHSM2 answers CKR_GENERAL_ERROR (not CKR_ENCRYPTED_DATA_INVALID) when the tag is wrong.
    throw new SealOpenError();
  }
}

/**
 * Ceremony step for one node: imports the record key into the node's token as a non-extractable
 * object, generates the wrap key inside the token, and writes pkcs11-secrets.json. Refuses if the
 * token already holds this node's objects or the file exists. The caller zeroes `secrets` after.
 */
export function provisionPkcs11Node(location: Pkcs11Location, secrets: NodeSecrets): void {
  checkNodeSecrets(secrets);
  const { fleetId, nodeIndex } = location;
  const recordLabel = objectLabel(fleetId, nodeIndex, 'record-key');
  const wrapLabel = objectLabel(fleetId, nodeIndex, 'wrap-key');
  const module = acquireModule(location.modulePath);
  try {
    const session = module.openSession(location.tokenLabel, location.pin);
    try {
      for (const label of [recordLabel, wrapLabel]) {
        if (session.findKeys(label).length > 0) {
          throw new Error(
            `token "${location.tokenLabel}" already holds ${label}: refusing to overwrite a fleet`,
          );
        }
      }
      // C_CreateObject with the value in clear: right for SoftHSM2 and for a ceremony on a directly
      // attached HSM. A network HSM would import under a transport key (C_UnwrapKey) instead.
      const value = Buffer.from(secrets.recordKey);
      try {
        session.run((p11, handle) =>
          p11.C_CreateObject(handle, [...keyTemplate(recordLabel), { type: pkcs11js.CKA_VALUE, value }]),
        );
      } finally {
        value.fill(0);
      }
      const wrapKey = session.run((p11, handle) =>
        p11.C_GenerateKey(handle, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
          ...keyTemplate(wrapLabel),
          { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        ]),
      );
      const wrapped: Record<string, string> = {};
      for (const name of CORE_SECRET_NAMES) {
        const sealed = tokenSeal(
          session,
          wrapKey,
          secretField(secrets, name),
          wrappedSecretAad(name, fleetId, nodeIndex),
        );
        wrapped[name] = Buffer.from(sealed).toString('hex');
      }
      writeKeystoreFile(
        location.secretsPath,
        Buffer.from(
          `${JSON.stringify(
            {
              format: SECRETS_FORMAT,
              fleetId: Buffer.from(fleetId).toString('hex'),
              nodeIndex,
              tokenLabel: location.tokenLabel,
              secrets: wrapped,
            },
            null,
            2,
          )}\n`,
        ),
      );
    } finally {
      session.close();
    }
  } finally {
    module.release();
  }
}

function readWrappedSecrets(location: Pkcs11Location): Map<CoreSecretName, Uint8Array> {
  const bad = (what: string) => new Error(`PKCS#11 secrets file ${location.secretsPath}: ${what}`);
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(readFileSync(location.secretsPath, 'utf8'));
  } catch (error) {
    throw new Error(`PKCS#11 secrets file ${location.secretsPath} could not be read`, { cause: error });
  }
  if (document.format !== SECRETS_FORMAT) throw bad(`format is not ${SECRETS_FORMAT}`);
  if (document.fleetId !== Buffer.from(location.fleetId).toString('hex'))
    throw bad('belongs to another fleet');
  if (document.nodeIndex !== location.nodeIndex) throw bad(`belongs to node ${document.nodeIndex}`);
  const entries = document.secrets as Record<string, unknown> | undefined;
  const wrapped = new Map<CoreSecretName, Uint8Array>();
  for (const name of CORE_SECRET_NAMES) {
    const value = entries?.[name];
    if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(value))
      throw bad(`${name} is missing or not hex`);
    wrapped.set(name, new Uint8Array(Buffer.from(value, 'hex')));
  }
  return wrapped;
}

/** Opens a node's PKCS#11 keystore: logs in to its token and finds its two keys. */
export function openPkcs11Keystore(location: Pkcs11Location): NodeKeyStore {
  const wrapped = readWrappedSecrets(location);
  const module = acquireModule(location.modulePath);
  try {
    const session = module.openSession(location.tokenLabel, location.pin);
    try {
      const key = (role: 'record-key' | 'wrap-key') => {
        const label = objectLabel(location.fleetId, location.nodeIndex, role);
        const found = session.findKeys(label);
        if (found.length !== 1) {
          throw new Error(
            `token "${location.tokenLabel}" holds ${found.length} objects labelled ${label}, not 1`,
          );
        }
        return found[0]!;
      };
      return new Pkcs11KeyStore(location, module, session, key('record-key'), key('wrap-key'), wrapped);
    } catch (error) {
      session.close();
      throw error;
    }
  } catch (error) {
    module.release();
    throw error;
  }
}

class Pkcs11KeyStore implements NodeKeyStore {
  readonly description: string;
  private readonly fleetId: Uint8Array;
  private readonly nodeIndex: number;
  private closed = false;

  constructor(
    location: Pkcs11Location,
    private readonly module: Pkcs11Module,
    private readonly session: TokenSession,
    private readonly recordKey: pkcs11js.Handle,
    private readonly wrapKey: pkcs11js.Handle,
    private readonly wrapped: Map<CoreSecretName, Uint8Array>,
  ) {
    this.description = `PKCS#11 token "${location.tokenLabel}" (${location.modulePath})`;
    this.fleetId = Uint8Array.from(location.fleetId);
    this.nodeIndex = location.nodeIndex;
  }

  async seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return tokenSeal(this.live(), this.recordKey, plaintext, aad);
  }

  async open(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return tokenOpen(this.live(), this.recordKey, sealed, aad);
  }

  /** Decrypted by the token into a fresh buffer the caller owns: the secret's life ends when it zeroes it. */
  async secret(name: CoreSecretName): Promise<Uint8Array> {
    const sealed = this.wrapped.get(name);
    if (sealed === undefined) throw new RangeError(`unknown core secret ${JSON.stringify(name)}`);
    const aad = wrappedSecretAad(name, this.fleetId, this.nodeIndex);
    return tokenOpen(this.live(), this.wrapKey, sealed, aad);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
    this.module.release();
  }

  private live(): TokenSession {
    if (this.closed) throw new Error('PKCS#11 keystore is closed');
    return this.session;
  }
}
