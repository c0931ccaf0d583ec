// The key ceremony (docs/CEREMONY.md): makes
// the fleet secrets and each node's endorsement key, seals the fleet configuration the cores trust,
// installs each node's secrets in its keystore, writes one node config per node and the public
// fleet.pub, then zeroes its own copies. It is a trusted, offline step: whoever runs it sees every
// fleet secret while it runs.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as opaque from '@serenity-kit/opaque';
import { StrongroomError, UsageError } from '../errors.ts';
import {
  FLEET_CONFIG_AAD,
  FleetConfig,
  FleetMember,
  type FleetPublicInfo,
  MAX_GUESS_LIMIT,
  MAX_MEMBERS,
  majorityQuorum,
} from '../protocol/fleet.ts';
import { DEFAULT_PIN_ENV, type KeystoreLocation, NodeConfig } from '../vault-host/node-config.ts';
import { NodeDhkemX25519HkdfSha256 } from './hpke-node.ts';
import { type NodeSecrets, sealWithKey, zeroNodeSecrets } from './keystore.ts';
import { openNodeKeystore } from './node-platform.ts';
import { provisionPkcs11Node } from './pkcs11.ts';
import { ed25519PublicKey, nodePrimitives } from './primitives.ts';
import { writeSoftwareKeystore } from './software.ts';

export const FLEET_PUB_FILE = 'fleet.pub';
export const NODE_CONFIG_FILE = 'node.json';
export const SOFTWARE_KEYSTORE_FILE = 'keystore.json';
export const PKCS11_SECRETS_FILE = 'pkcs11-secrets.json';
export const NVRAM_FILE = 'nvram.db';
export const DEFAULT_MAX_GUESSES = 10;

export type CeremonyKeystore =
  | { kind: 'software' }
  | {
      kind: 'pkcs11';
      /** Path of the PKCS#11 library. */
      module: string;
      /** One token label per node, or a single label every node's objects share. */
      tokenLabels: readonly string[];
      /** The tokens' user PIN (used during the ceremony, never written). */
      pin: string;
      /** The variable the node configs will name for the PIN (default STRONGROOM_PKCS11_PIN). */
      pinEnv?: string;
    };

export interface CreateFleetOptions {
  /** Output directory; it may exist but must not hold a fleet. */
  dir: string;
  nodes: number;
  /** Regions assigned to nodes round-robin (default: one region, "local"). */
  regions?: readonly string[];
  /** Default: a majority of the nodes. */
  quorum?: number;
  /** Largest guess limit a record may choose (default 10). */
  maxGuesses?: number;
  keystore?: CeremonyKeystore;
}

export interface CreatedFleet {
  config: FleetConfig;
  publicInfo: FleetPublicInfo;
  sealedFleetConfig: Uint8Array;
  fleetPubPath: string;
  /** Node config paths, by node index. */
  nodeConfigPaths: string[];
}

function checkOptions(options: CreateFleetOptions): void {
  const { nodes } = options;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_MEMBERS) {
    throw new UsageError(`--nodes must be a whole number from 1 to ${MAX_MEMBERS} (got ${nodes})`);
  }
  const quorum = options.quorum ?? majorityQuorum(nodes);
  if (!Number.isInteger(quorum) || quorum < majorityQuorum(nodes) || quorum > nodes) {
    throw new UsageError(
      `--quorum must be from ${majorityQuorum(nodes)} (a majority) to ${nodes} (got ${quorum})`,
      {
        hints: ['a quorum below a majority would let two disjoint sets of nodes certify different states'],
      },
    );
  }
  const maxGuesses = options.maxGuesses ?? DEFAULT_MAX_GUESSES;
  if (!Number.isInteger(maxGuesses) || maxGuesses < 1 || maxGuesses > MAX_GUESS_LIMIT) {
    throw new UsageError(`--max-guesses must be from 1 to ${MAX_GUESS_LIMIT} (got ${maxGuesses})`);
  }
  for (const region of options.regions ?? []) {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region)) {
      throw new UsageError(`region ${JSON.stringify(region)} must be lowercase letters, digits and dashes`);
    }
  }
  if (options.regions?.length === 0) throw new UsageError('--regions must name at least one region');
  const keystore = options.keystore;
  if (
    keystore?.kind === 'pkcs11' &&
    keystore.tokenLabels.length !== 1 &&
    keystore.tokenLabels.length !== nodes
  ) {
    throw new UsageError(`give one PKCS#11 token label per node (${nodes}) or a single shared one`);
  }
}

/** Refuses a directory that already holds a fleet (its fleet.pub or any node directory). */
function checkNotAFleet(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // does not exist yet
  }
  const fleetFiles = entries.filter((name) => name === FLEET_PUB_FILE || /^node-\d+$/.test(name));
  if (fleetFiles.length > 0) {
    throw new StrongroomError(
      `${dir} already holds a fleet (${fleetFiles.sort()[0]}): refusing to overwrite it`,
      {
        hints: [
          'choose another --out directory',
          'deleting a fleet that is in use destroys every backup key its vault guards',
        ],
      },
    );
  }
}

/** OPAQUE server setup and its public key, from @serenity-kit/opaque. */
async function opaqueSetup(): Promise<{ setup: Uint8Array; publicKey: Uint8Array }> {
  await opaque.ready;
  // The setup string cannot be zeroed (JS strings are immutable); its bytes copy below can.
  const setupString = opaque.server.createSetup();
  const publicKey = new Uint8Array(Buffer.from(opaque.server.getPublicKey(setupString), 'base64url'));
  return { setup: new TextEncoder().encode(setupString), publicKey };
}

/** Runs the ceremony into `options.dir`. */
export async function createFleet(options: CreateFleetOptions): Promise<CreatedFleet> {
  checkOptions(options);
  const { dir, nodes } = options;
  checkNotAFleet(dir);
  const regions = options.regions ?? ['local'];
  const keystore = options.keystore ?? { kind: 'software' };

  const fleetId = nodePrimitives.randomBytes(16);
  const recordKey = nodePrimitives.randomBytes(32);
  const { setup, publicKey: opaqueServerPublicKey } = await opaqueSetup();
  const kem = new NodeDhkemX25519HkdfSha256();
  const hpkePair = await kem.generateKeyPair();
  const hpkePrivateKey = new Uint8Array(await kem.serializePrivateKey(hpkePair.privateKey));
  const hpkePublicKey = new Uint8Array(await kem.serializePublicKey(hpkePair.publicKey));
  const endorsementKeys = Array.from({ length: nodes }, () => nodePrimitives.randomBytes(32));

  const created: string[] = [];
  try {
    const config = new FleetConfig({
      fleetId,
      members: endorsementKeys.map(
        (seed, index) =>
          new FleetMember({
            index,
            name: `node-${index}`,
            region: regions[index % regions.length]!,
            endorsementPublicKey: ed25519PublicKey(seed),
          }),
      ),
      quorum: options.quorum ?? majorityQuorum(nodes),
      maxGuessLimit: options.maxGuesses ?? DEFAULT_MAX_GUESSES,
      hpkePublicKey,
      opaqueServerPublicKey,
    });
    const sealedFleetConfig = sealWithKey(recordKey, config.serialize(), FLEET_CONFIG_AAD);
    mkdirSync(dir, { recursive: true });
    const nodeConfigPaths: string[] = [];
    for (const member of config.members) {
      const nodeDir = join(dir, member.name);
      mkdirSync(nodeDir); // fails if it exists: never overwrite a node
      created.push(nodeDir);
      const secrets: NodeSecrets = {
        recordKey: Uint8Array.from(recordKey),
        opaqueServerSetup: Uint8Array.from(setup),
        hpkePrivateKey: Uint8Array.from(hpkePrivateKey),
        endorsementPrivateKey: Uint8Array.from(endorsementKeys[member.index]!),
      };
      let location: KeystoreLocation;
      try {
        location = installSecrets(keystore, nodeDir, fleetId, member.index, secrets);
      } finally {
        zeroNodeSecrets(secrets);
      }
      const nodeConfig = new NodeConfig({
        fleetId,
        index: member.index,
        name: member.name,
        region: member.region,
        keystore: location,
        sealedFleetConfig,
        nvramPath: NVRAM_FILE,
      });
      const path = join(nodeDir, NODE_CONFIG_FILE);
      writeFileSync(path, nodeConfig.toText(), { flag: 'wx' });
      await verifyNode(nodeConfig, nodeDir, keystore, config);
      nodeConfigPaths.push(path);
    }
    const publicInfo = config.publicInfo();
    const fleetPubPath = join(dir, FLEET_PUB_FILE);
    writeFileSync(fleetPubPath, publicInfo.toText(), { flag: 'wx' });
    return { config, publicInfo, sealedFleetConfig, fleetPubPath, nodeConfigPaths };
  } catch (error) {
    // Leave no half-made fleet behind (a fresh fleet id means token objects left over never clash).
    for (const path of created) rmSync(path, { recursive: true, force: true });
    throw error;
  } finally {
    // End of the ceremony's copies of the fleet secrets.
    recordKey.fill(0);
    setup.fill(0);
    hpkePrivateKey.fill(0);
    for (const seed of endorsementKeys) seed.fill(0);
  }
}

/**
 * Opens the node's keystore as its host will and checks it opens the sealed fleet config and holds
 * this member's endorsement key: a token that stored the wrong key fails here, not at first start.
 */
async function verifyNode(
  nodeConfig: NodeConfig,
  nodeDir: string,
  keystore: CeremonyKeystore,
  config: FleetConfig,
): Promise<void> {
  const opened = openNodeKeystore(nodeConfig, nodeDir, {
    pin: keystore.kind === 'pkcs11' ? keystore.pin : undefined,
    warn: () => {},
  });
  try {
    const bytes = await opened.open(nodeConfig.sealedFleetConfig, FLEET_CONFIG_AAD);
    const seed = await opened.secret('endorsement-private-key');
    const publicKey = ed25519PublicKey(seed);
    seed.fill(0);
    const member = config.member(nodeConfig.index)!;
    if (
      !Buffer.from(bytes).equals(config.serialize()) ||
      !Buffer.from(publicKey).equals(member.endorsementPublicKey)
    ) {
      throw new Error(`${member.name}: its keystore does not hold what the ceremony installed`);
    }
  } finally {
    opened.close();
  }
}

/** Puts one node's secrets in its keystore; returns where its node config will find them. */
function installSecrets(
  keystore: CeremonyKeystore,
  nodeDir: string,
  fleetId: Uint8Array,
  nodeIndex: number,
  secrets: NodeSecrets,
): KeystoreLocation {
  if (keystore.kind === 'software') {
    writeSoftwareKeystore(join(nodeDir, SOFTWARE_KEYSTORE_FILE), fleetId, nodeIndex, secrets);
    return { kind: 'software', path: SOFTWARE_KEYSTORE_FILE };
  }
  const tokenLabel = keystore.tokenLabels[keystore.tokenLabels.length === 1 ? 0 : nodeIndex]!;
  provisionPkcs11Node(
    {
      modulePath: keystore.module,
      tokenLabel,
      pin: keystore.pin,
      secretsPath: join(nodeDir, PKCS11_SECRETS_FILE),
      fleetId,
      nodeIndex,
    },
    secrets,
  );
  return {
    kind: 'pkcs11',
    module: keystore.module,
    tokenLabel,
    pinEnv: keystore.pinEnv ?? DEFAULT_PIN_ENV,
    secretsPath: PKCS11_SECRETS_FILE,
  };
}
