// ChatD's configuration file for `strongroom chatd --config FILE` (docs/CHATD.md "Running ChatD
// alone"; "Vault relay": nearest region first, failover to the others). It names where ChatD
// listens, its state, its own region, the fleet it serves and the URL of each vault node. A node's
// region is not repeated here: it comes from fleet.pub, which the key ceremony wrote from the
// sealed membership, so a config cannot disagree with the fleet about where a node is.
//
//   { "format": "strongroom-chatd/v1",
//     "listen": "host:port",             where devices connect (ws://host:port/v1/chatd)
//     "region": "eu",                    ChatD's own region: its nodes are tried first
//     "dataDir": "chatd-data",           accounts database and blobs
//     "fleetPub": "fleet.pub",           the fleet's public info (fleet id, members and regions)
//     "nodes": [{ "name": "node-0", "url": "http://10.0.1.5:7000" }, ...],
//     "relayTimeoutMs": 5000,            optional: how long one node may take
//     "quotaBytes": 1073741824,          optional: blob storage per account
//     "metrics": false,                  optional: serve GET /metrics
//     "accountStore": "etcd://h:p,h:p/prefix",  optional: accounts shared by every ChatD
//     "blobStore": "s3://bucket/prefix" }       optional: blobs shared by every ChatD
//
// Without accountStore and blobStore, ChatD keeps both in dataDir; with them, every ChatD of a
// multi-region deployment serves every account (docs/CHATD.md "ChatD across regions"). The flags
// --account-store and --blob-store of `strongroom chatd` set the same two, checked alike.
// Relative paths are relative to the directory of the config file. Nothing in it is secret.
import { dirname, isAbsolute, join } from 'node:path';
import type { FleetPublicInfo } from '../protocol/fleet.ts';
import { parseRecordStoreUrl } from '../stores/record/index.ts';
import { HttpVaultNode, type VaultNode } from './vault-relay.ts';

export const CHATD_CONFIG_FORMAT = 'strongroom-chatd/v1';
/** Where a vault node takes client frames (src/vault-host/node-server.ts VAULT_PATH). */
const NODE_VAULT_PATH = '/v1/vault';
const LABEL = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A vault node as the config names it: its fleet member name and its base URL. */
export interface NodeAddress {
  readonly name: string;
  /** `http(s)://host:port`, what the node prints in its `listening` log line. */
  readonly url: string;
}

export interface ChatdConfigFields {
  listen: string;
  region: string;
  dataDir: string;
  fleetPub: string;
  nodes: readonly NodeAddress[];
  relayTimeoutMs?: number;
  quotaBytes?: number;
  metrics?: boolean;
  accountStore?: string;
  blobStore?: string;
}

const fail = (what: string) => new RangeError(`chatd config: ${what}`);

function checkNodeUrl(url: unknown): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw fail(`node url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw fail(`node url ${JSON.stringify(url)} must be http:// or https://`);
  }
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') {
    throw fail(`node url ${JSON.stringify(url)} must be the node's base URL (scheme, host and port only)`);
  }
  return parsed.origin;
}

/**
 * Why `url` cannot name a shared account store, or undefined when it can; a malformed etcd URL
 * throws parseRecordStoreUrl's own UsageError, which says what is wrong with it.
 */
export function accountStoreUrlProblem(url: unknown): string | undefined {
  if (typeof url === 'string' && url.startsWith('etcd://') && parseRecordStoreUrl(url).kind === 'etcd')
    return undefined;
  return 'must be etcd://host:port[,host:port...][/prefix]';
}

/** Why `url` cannot name a shared blob store, or undefined when it can. */
export function blobStoreUrlProblem(url: unknown): string | undefined {
  return typeof url === 'string' && /^s3:\/\/[^/]/.test(url) ? undefined : 'must be s3://bucket[/prefix]';
}

function positiveInteger(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw fail(`${name} must be a positive whole number`);
  }
  return value;
}

export class ChatdConfig {
  readonly listen: string;
  readonly region: string;
  readonly dataDir: string;
  readonly fleetPub: string;
  readonly nodes: readonly NodeAddress[];
  readonly relayTimeoutMs: number | undefined;
  readonly quotaBytes: number | undefined;
  readonly metrics: boolean;
  readonly accountStore: string | undefined;
  readonly blobStore: string | undefined;

  constructor(fields: ChatdConfigFields) {
    if (typeof fields.listen !== 'string' || fields.listen === '') throw fail('listen must be "host:port"');
    if (typeof fields.region !== 'string' || !LABEL.test(fields.region)) {
      throw fail('region must be a fleet region label (lowercase letters, digits, dashes)');
    }
    for (const name of ['dataDir', 'fleetPub'] as const) {
      if (typeof fields[name] !== 'string' || fields[name] === '') throw fail(`${name} must be a path`);
    }
    if (!Array.isArray(fields.nodes) || fields.nodes.length === 0)
      throw fail('nodes must list the vault nodes');
    const names = new Set<string>();
    this.nodes = fields.nodes.map((node: NodeAddress) => {
      if (
        typeof node !== 'object' ||
        node === null ||
        typeof node.name !== 'string' ||
        !LABEL.test(node.name)
      ) {
        throw fail('each node needs the name fleet.pub gives it, e.g. "node-0"');
      }
      if (names.has(node.name)) throw fail(`node ${node.name} is listed twice`);
      names.add(node.name);
      return { name: node.name, url: checkNodeUrl(node.url) };
    });
    if (fields.metrics !== undefined && typeof fields.metrics !== 'boolean')
      throw fail('metrics must be true or false');
    this.listen = fields.listen;
    this.region = fields.region;
    this.dataDir = fields.dataDir;
    this.fleetPub = fields.fleetPub;
    this.relayTimeoutMs = positiveInteger('relayTimeoutMs', fields.relayTimeoutMs);
    this.quotaBytes = positiveInteger('quotaBytes', fields.quotaBytes);
    this.metrics = fields.metrics ?? false;
    const accountStoreProblem =
      fields.accountStore === undefined ? undefined : accountStoreUrlProblem(fields.accountStore);
    if (accountStoreProblem !== undefined) throw fail(`accountStore ${accountStoreProblem}`);
    const blobStoreProblem =
      fields.blobStore === undefined ? undefined : blobStoreUrlProblem(fields.blobStore);
    if (blobStoreProblem !== undefined) throw fail(`blobStore ${blobStoreProblem}`);
    this.accountStore = fields.accountStore;
    this.blobStore = fields.blobStore;
  }

  /** `path` (dataDir, fleetPub) resolved against the directory holding the config file. */
  static resolve(configPath: string, path: string): string {
    return isAbsolute(path) ? path : join(dirname(configPath), path);
  }

  /**
   * The relay's nodes, each in the region fleet.pub gives its member, in config order. Throws if
   * a name is not a member of the fleet: a typo must not silently leave a node out.
   */
  vaultNodes(fleet: FleetPublicInfo): VaultNode[] {
    return this.nodes.map((node) => {
      const member = fleet.members.find((candidate) => candidate.name === node.name);
      if (member === undefined) {
        const known = fleet.members.map((candidate) => candidate.name).join(', ');
        throw fail(`node ${node.name} is not a member of the fleet in fleet.pub (members: ${known})`);
      }
      return new HttpVaultNode(member.name, member.region, `${node.url}${NODE_VAULT_PATH}`);
    });
  }

  toText(): string {
    const document = {
      format: CHATD_CONFIG_FORMAT,
      listen: this.listen,
      region: this.region,
      dataDir: this.dataDir,
      fleetPub: this.fleetPub,
      nodes: this.nodes,
      relayTimeoutMs: this.relayTimeoutMs,
      quotaBytes: this.quotaBytes,
      metrics: this.metrics,
      accountStore: this.accountStore,
      blobStore: this.blobStore,
    };
    return `${JSON.stringify(document, null, 2)}\n`;
  }

  static fromText(text: string): ChatdConfig {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw fail('not JSON');
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw fail('not a JSON object');
    }
    const doc = document as Record<string, unknown>;
    if (doc.format !== CHATD_CONFIG_FORMAT) throw fail(`format is not ${CHATD_CONFIG_FORMAT}`);
    const known = new Set([
      'format',
      'listen',
      'region',
      'dataDir',
      'fleetPub',
      'nodes',
      'relayTimeoutMs',
      'quotaBytes',
      'metrics',
      'accountStore',
      'blobStore',
    ]);
    // An unknown field is most likely a misspelt optional one, which would silently take its default.
    const unknown = Object.keys(doc).filter((key) => !known.has(key));
    if (unknown.length > 0) throw fail(`unknown field ${JSON.stringify(unknown[0])}`);
    return new ChatdConfig(doc as unknown as ChatdConfigFields);
  }
}
