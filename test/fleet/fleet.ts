// A whole fleet on loopback for multi-process tests (docs/ARCHITECTURE.md "Processes and deployment"): the real key ceremony
// (createFleet, what `strongroom fleet init` runs), node configs completed with listen addresses,
// peer URLs and the record store the way a deployment fills them, and one
// `strongroom vault node` process per node. Clients reach the fleet through ChatD's relay
// (nearest region first, failover), as they would in production.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpVaultNode, VaultRelay } from '../../src/chatd/vault-relay.ts';
import { VaultClient } from '../../src/client/vault/client.ts';
import type { RecordMemory } from '../../src/client/vault/memory.ts';
import { createFleet } from '../../src/hsm-platform/ceremony.ts';
import type { FleetPublicInfo } from '../../src/protocol/fleet.ts';
import { NodeConfig } from '../../src/vault-host/node-config.ts';
import { freePorts } from '../helpers/etcd-cluster.ts';
import { NodeProcess } from './node-process.ts';

/** Small Argon2id parameters: these tests are about the fleet, not the KSF. */
export const TEST_ARGON2ID = { memory: 256, iterations: 1, parallelism: 1 };

export interface FleetOptions {
  readonly nodes?: number;
  readonly regions?: readonly string[];
  /** Record store URL every node uses (etcd://... for these tests). */
  readonly store: string;
  readonly maxGuesses?: number;
  /** Extra `vault node` arguments, e.g. a shorter --peer-timeout. */
  readonly nodeArgs?: readonly string[];
  /**
   * Where the fleet directory (configs, keystores, NVRAM files) goes; default the OS temporary
   * directory. A benchmark's labelled no-fsync upper bound uses tmpfs (/dev/shm).
   */
  readonly dataRoot?: string;
  /** Node.js options for every node process (e.g. --cpu-prof, to profile under load). */
  readonly execArgv?: readonly string[];
  /** How long each node may take to start listening (default 15 s; a loaded machine needs more). */
  readonly startTimeoutMs?: number;
}

export class ProcessFleet {
  private constructor(
    readonly dir: string,
    readonly publicInfo: FleetPublicInfo,
    readonly nodes: readonly NodeProcess[],
    readonly configPaths: readonly string[],
    readonly fleetPubPath: string,
  ) {}

  static async start(options: FleetOptions): Promise<ProcessFleet> {
    const count = options.nodes ?? 3;
    const dir = mkdtempSync(join(options.dataRoot ?? tmpdir(), 'strongroom-fleet-'));
    const created = await createFleet({
      dir,
      nodes: count,
      regions: options.regions,
      maxGuesses: options.maxGuesses ?? 10,
      keystore: { kind: 'software' },
    });
    const ports = await freePorts(count);
    const urls = ports.map((port) => `http://127.0.0.1:${port}`);
    for (const [index, path] of created.nodeConfigPaths.entries()) {
      const config = NodeConfig.deserialize(readFileSync(path)).with({
        listen: `127.0.0.1:${ports[index]}`,
        peers: urls.map((url, peer) => ({ index: peer, url })).filter((peer) => peer.index !== index),
        recordStore: { url: options.store },
      });
      writeFileSync(path, config.serialize());
    }
    const nodes = created.nodeConfigPaths.map(
      (path, index) =>
        new NodeProcess(
          `node-${index}`,
          ['--config', path, ...(options.nodeArgs ?? [])],
          {},
          options.execArgv,
        ),
    );
    const fleet = new ProcessFleet(
      dir,
      created.publicInfo,
      nodes,
      created.nodeConfigPaths,
      created.fleetPubPath,
    );
    try {
      await Promise.all(nodes.map((node) => node.start(options.startTimeoutMs)));
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  /** A client talking through a relay that prefers `region` and fails over to the others. */
  client(
    options: {
      region?: string;
      memory?: RecordMemory;
      relayTimeoutMs?: number;
      retries?: number;
      /** Told of every attempt the relay gave up on a node for (it then tries the next). */
      onNodeFailure?: () => void;
    } = {},
  ): VaultClient {
    const relay = new VaultRelay(
      this.publicInfo.members.map(
        (member) =>
          new HttpVaultNode(member.name, member.region, `${this.nodes[member.index]?.url}/v1/vault`),
      ),
      {
        localRegion: options.region,
        timeoutMs: options.relayTimeoutMs ?? 10_000,
        backoffMs: 0,
        ...(options.onNodeFailure === undefined ? {} : { onNodeFailure: options.onNodeFailure }),
      },
    );
    return new VaultClient({
      fleet: this.publicInfo,
      transport: relay,
      memory: options.memory,
      argon2id: TEST_ARGON2ID,
      ...(options.retries === undefined ? {} : { retries: options.retries }),
    });
  }

  /** A client pinned to one node (no failover): to see exactly what that node answers. */
  clientOf(index: number, memory?: RecordMemory, retries?: number): VaultClient {
    const node = this.nodes[index];
    if (node === undefined) throw new Error(`no node ${index}`);
    const only = new VaultRelay([new HttpVaultNode(node.name, 'any', `${node.url}/v1/vault`)], {
      backoffMs: 0,
    });
    return new VaultClient({
      fleet: this.publicInfo,
      transport: only,
      memory,
      argon2id: TEST_ARGON2ID,
      ...(retries === undefined ? {} : { retries }),
    });
  }

  /** Points every node at another record store (a restored or rebuilt cluster); takes effect on restart. */
  useStore(url: string): void {
    for (const path of this.configPaths) {
      const config = NodeConfig.deserialize(readFileSync(path)).with({ recordStore: { url } });
      writeFileSync(path, config.serialize());
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
