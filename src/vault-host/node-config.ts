// A vault node's configuration file (docs/CEREMONY.md "What each file holds"): who the node is, where
// its keystore material and NVRAM file are, and the sealed fleet configuration its core verifies.
// Written by the key ceremony; the network fields (listen address, peers, record store) are filled
// by whoever deploys the node. Nothing in it is secret: the PKCS#11 PIN is named by an environment
// variable, never stored, and the software keystore's secrets live in their own file.
//
//   { "format": "strongroom-node/v1", "fleetId": hex16,
//     "node": { "index": 0, "name": "node-0", "region": "eu" },
//     "keystore": { "kind": "software", "path": "keystore.json" }
//               | { "kind": "pkcs11", "module": "/usr/lib/softhsm/libsofthsm2.so", "tokenLabel": "...",
//                   "pinEnv": "STRONGROOM_PKCS11_PIN", "secretsPath": "pkcs11-secrets.json" },
//     "sealedFleetConfig": hex, "nvramPath": "nvram.db",
//     "listen": null | "host:port", "peers": [{ "index": 1, "url": "..." }], "recordStore": null | {...} }
//
// Relative paths are relative to the directory of the config file, so a fleet directory can move.
import { isAbsolute, join } from 'node:path';

export const NODE_CONFIG_FORMAT = 'strongroom-node/v1';
export const DEFAULT_PIN_ENV = 'STRONGROOM_PKCS11_PIN';

export type KeystoreLocation =
  | { readonly kind: 'software'; readonly path: string }
  | {
      readonly kind: 'pkcs11';
      /** Path of the PKCS#11 library. */
      readonly module: string;
      readonly tokenLabel: string;
      /** Name of the environment variable holding the token's user PIN. */
      readonly pinEnv: string;
      /** The node's wrapped secrets (pkcs11-secrets.json). */
      readonly secretsPath: string;
    };

/** Another node's address, for the network engineer's transport. */
export interface PeerAddress {
  readonly index: number;
  readonly url: string;
}

export interface NodeConfigFields {
  fleetId: Uint8Array;
  index: number;
  name: string;
  region: string;
  keystore: KeystoreLocation;
  /** keystore.seal(FleetConfig bytes, FLEET_CONFIG_AAD), made by the ceremony. */
  sealedFleetConfig: Uint8Array;
  nvramPath: string;
  listen?: string | null;
  peers?: readonly PeerAddress[];
  /** Record store settings, e.g. { kind: 'sqlite', path } or { kind: 'etcd', endpoints }. */
  recordStore?: Readonly<Record<string, unknown>> | null;
}

const LABEL = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class NodeConfig {
  readonly fleetId: Uint8Array;
  readonly index: number;
  readonly name: string;
  readonly region: string;
  readonly keystore: KeystoreLocation;
  readonly sealedFleetConfig: Uint8Array;
  readonly nvramPath: string;
  readonly listen: string | null;
  readonly peers: readonly PeerAddress[];
  readonly recordStore: Readonly<Record<string, unknown>> | null;

  constructor(fields: NodeConfigFields) {
    const fail = (what: string) => new RangeError(`node config: ${what}`);
    if (fields.fleetId.length !== 16) throw fail('fleet id must be 16 bytes');
    if (!Number.isInteger(fields.index) || fields.index < 0 || fields.index > 254)
      throw fail('bad node index');
    const labels = [fields.name, fields.region];
    if (!labels.every((label) => typeof label === 'string' && LABEL.test(label)))
      throw fail('bad node name or region');
    if (fields.sealedFleetConfig.length < 29) throw fail('sealed fleet config too short');
    if (fields.nvramPath === '') throw fail('empty NVRAM path');
    const keystore = fields.keystore;
    if (keystore.kind === 'software') {
      if (keystore.path === '') throw fail('empty software keystore path');
    } else if (keystore.kind === 'pkcs11') {
      if ([keystore.module, keystore.tokenLabel, keystore.secretsPath].includes(''))
        throw fail('incomplete PKCS#11 keystore');
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(keystore.pinEnv)) throw fail('bad PIN environment variable name');
    } else {
      throw fail(`unknown keystore kind ${JSON.stringify((keystore as { kind: unknown }).kind)}`);
    }
    for (const peer of fields.peers ?? []) {
      if (!Number.isInteger(peer.index) || typeof peer.url !== 'string') throw fail('bad peer address');
    }
    this.fleetId = Uint8Array.from(fields.fleetId);
    this.index = fields.index;
    this.name = fields.name;
    this.region = fields.region;
    this.keystore = { ...keystore };
    this.sealedFleetConfig = Uint8Array.from(fields.sealedFleetConfig);
    this.nvramPath = fields.nvramPath;
    this.listen = fields.listen ?? null;
    this.peers = (fields.peers ?? []).map((peer) => ({ index: peer.index, url: peer.url }));
    this.recordStore = fields.recordStore ?? null;
  }

  /** A copy with the deployment fields set (what the network engineer fills in). */
  with(fields: Partial<Pick<NodeConfigFields, 'listen' | 'peers' | 'recordStore'>>): NodeConfig {
    return new NodeConfig({ ...this.fields(), ...fields });
  }

  /** `path` resolved against the directory holding the config file. */
  static resolve(configDir: string, path: string): string {
    return isAbsolute(path) ? path : join(configDir, path);
  }

  toText(): string {
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    const document = {
      format: NODE_CONFIG_FORMAT,
      fleetId: hex(this.fleetId),
      node: { index: this.index, name: this.name, region: this.region },
      keystore: this.keystore,
      sealedFleetConfig: hex(this.sealedFleetConfig),
      nvramPath: this.nvramPath,
      listen: this.listen,
      peers: this.peers,
      recordStore: this.recordStore,
    };
    return `${JSON.stringify(document, null, 2)}\n`;
  }

  serialize(): Uint8Array {
    return new TextEncoder().encode(this.toText());
  }

  static deserialize(bytes: Uint8Array): NodeConfig {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new RangeError('node config: not UTF-8 text');
    }
    return NodeConfig.fromText(text);
  }

  static fromText(text: string): NodeConfig {
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(text);
    } catch {
      throw new RangeError('node config: not JSON');
    }
    if (typeof document !== 'object' || document === null || document.format !== NODE_CONFIG_FORMAT)
      throw new RangeError(`node config: format is not ${NODE_CONFIG_FORMAT}`);
    const hex = (name: string, value: unknown): Uint8Array => {
      if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(value)) {
        throw new RangeError(`node config: ${name} must be lowercase hex`);
      }
      return new Uint8Array(Buffer.from(value, 'hex'));
    };
    const node = (document.node ?? {}) as Record<string, unknown>;
    const keystore = (document.keystore ?? {}) as Record<string, string>;
    const strings = (names: string[]) => {
      for (const name of names) {
        if (typeof keystore[name] !== 'string')
          throw new RangeError(`node config: keystore.${name} must be a string`);
      }
    };
    // The non-null assertions below are safe: strings() has checked each field it names.
    strings(keystore.kind === 'pkcs11' ? ['module', 'tokenLabel', 'pinEnv', 'secretsPath'] : ['path']);
    if (typeof document.nvramPath !== 'string')
      throw new RangeError('node config: nvramPath must be a string');
    if (!Array.isArray(document.peers ?? [])) throw new RangeError('node config: peers must be a list');
    return new NodeConfig({
      fleetId: hex('fleetId', document.fleetId),
      index: node.index as number,
      name: node.name as string,
      region: node.region as string,
      keystore:
        keystore.kind === 'pkcs11'
          ? {
              kind: 'pkcs11',
              module: keystore.module!,
              tokenLabel: keystore.tokenLabel!,
              pinEnv: keystore.pinEnv!,
              secretsPath: keystore.secretsPath!,
            }
          : { kind: keystore.kind as 'software', path: keystore.path! },
      sealedFleetConfig: hex('sealedFleetConfig', document.sealedFleetConfig),
      nvramPath: document.nvramPath,
      listen: typeof document.listen === 'string' ? document.listen : null,
      peers: (document.peers ?? []) as PeerAddress[],
      recordStore: (document.recordStore ?? null) as Record<string, unknown> | null,
    });
  }

  private fields(): NodeConfigFields {
    return { ...this, keystore: this.keystore };
  }
}
