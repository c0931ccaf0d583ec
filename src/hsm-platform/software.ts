// The software keystore (docs/SECURITY.md "Ordinary process + software keystore"): a node's
// secrets in one JSON file (mode 0600) written by the key ceremony, sealing with node:crypto. It is
// the embedded default for trying Strongroom on a laptop and protects nothing against whoever can
// read the file, so it says so every time it is opened.
//
// File (lowercase hex except the OPAQUE setup, which is @serenity-kit/opaque's own base64url string):
//   { "format": "strongroom-software-keystore/v1", "warning": "...", "fleetId": hex16, "nodeIndex": n,
//     "recordKey": hex32, "opaqueServerSetup": string, "hpkePrivateKey": hex32,
//     "endorsementPrivateKey": hex32 }
import { readFileSync } from 'node:fs';
import type { CoreSecretName } from '../hsm-core/platform.ts';
import {
  checkNodeSecrets,
  type NodeKeyStore,
  type NodeSecrets,
  openWithKey,
  sealWithKey,
  secretField,
  writeKeystoreFile,
  zeroNodeSecrets,
} from './keystore.ts';

const FORMAT = 'strongroom-software-keystore/v1';
const WARNING =
  'NOT AN HSM: whoever can read this file holds the fleet secrets and can guess passwords without limit';

/** Writes a node's software keystore file; refuses to overwrite an existing one. */
export function writeSoftwareKeystore(
  path: string,
  fleetId: Uint8Array,
  nodeIndex: number,
  secrets: NodeSecrets,
): void {
  checkNodeSecrets(secrets);
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  const document = {
    format: FORMAT,
    warning: WARNING,
    fleetId: hex(fleetId),
    nodeIndex,
    recordKey: hex(secrets.recordKey),
    opaqueServerSetup: Buffer.from(secrets.opaqueServerSetup).toString('utf8'),
    hpkePrivateKey: hex(secrets.hpkePrivateKey),
    endorsementPrivateKey: hex(secrets.endorsementPrivateKey),
  };
  const text = Buffer.from(`${JSON.stringify(document, null, 2)}\n`);
  try {
    writeKeystoreFile(path, text);
  } finally {
    text.fill(0);
  }
}

export interface SoftwareKeystoreOptions {
  /** The fleet and node this keystore must belong to (from the node config); a mismatch is refused. */
  fleetId: Uint8Array;
  nodeIndex: number;
  /** Where the not-an-HSM warning goes; standard error by default. */
  warn?: (line: string) => void;
}

/** Opens a node's software keystore file, warning loudly that it is not an HSM. */
export function openSoftwareKeystore(path: string, options: SoftwareKeystoreOptions): NodeKeyStore {
  const secrets = readSecrets(path, options);
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  warn(
    `strongroom: WARNING: node ${options.nodeIndex} keeps its keys in a software keystore (${path}), ` +
      'not an HSM. Anyone who can read that file can bypass the guess limit. Use it only to try Strongroom.',
  );
  return new SoftwareKeyStore(path, secrets);
}

function readSecrets(path: string, options: SoftwareKeystoreOptions): NodeSecrets {
  const bad = (what: string) => new Error(`software keystore ${path}: ${what}`);
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`software keystore ${path} could not be read`, { cause: error });
  }
  if (document.format !== FORMAT) throw bad(`format is not ${FORMAT}`);
  const hexField = (name: string): Uint8Array => {
    const value = document[name];
    if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(value)) throw bad(`${name} is not hex`);
    return new Uint8Array(Buffer.from(value, 'hex'));
  };
  if (!Buffer.from(hexField('fleetId')).equals(Buffer.from(options.fleetId))) {
    throw bad('belongs to another fleet');
  }
  if (document.nodeIndex !== options.nodeIndex) throw bad(`belongs to node ${document.nodeIndex}`);
  if (typeof document.opaqueServerSetup !== 'string') throw bad('opaqueServerSetup is not a string');
  const secrets: NodeSecrets = {
    recordKey: hexField('recordKey'),
    opaqueServerSetup: new Uint8Array(Buffer.from(document.opaqueServerSetup, 'utf8')),
    hpkePrivateKey: hexField('hpkePrivateKey'),
    endorsementPrivateKey: hexField('endorsementPrivateKey'),
  };
  checkNodeSecrets(secrets);
  return secrets;
}

class SoftwareKeyStore implements NodeKeyStore {
  readonly description: string;
  private closed = false;

  /** The secrets live in this object until close() zeroes them. */
  constructor(
    path: string,
    private readonly secrets: NodeSecrets,
  ) {
    this.description = `software keystore at ${path} (NOT an HSM)`;
  }

  async seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return sealWithKey(this.live().recordKey, plaintext, aad);
  }

  async open(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return openWithKey(this.live().recordKey, sealed, aad);
  }

  /** A fresh copy: the caller owns it and should zero it when done. */
  async secret(name: CoreSecretName): Promise<Uint8Array> {
    return Uint8Array.from(secretField(this.live(), name));
  }

  /** End of the secrets' life in this process. */
  close(): void {
    zeroNodeSecrets(this.secrets);
    this.closed = true;
  }

  private live(): NodeSecrets {
    if (this.closed) throw new Error('software keystore is closed');
    return this.secrets;
  }
}
