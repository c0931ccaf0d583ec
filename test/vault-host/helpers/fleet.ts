// Test fleets: the real key ceremony (createFleet, what `strongroom fleet init` runs) with software
// keystores, each node's platform loaded from its node config as a vault node loads it (one real
// NVRAM file per node), a real SQLite record store, the in-process fleet, and optionally vault
// hosts on real HTTP ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VaultClient, type VaultClientOptions } from '../../../src/client/vault/client.ts';
import { HttpVaultTransport } from '../../../src/client/vault/http-transport.ts';
import type { RecordMemory } from '../../../src/client/vault/memory.ts';
import type { VaultTransport } from '../../../src/client/vault/transport.ts';
import { createFleet } from '../../../src/hsm-platform/ceremony.ts';
import { loadNodePlatform, type NodePlatform } from '../../../src/hsm-platform/node-platform.ts';
import type { NvramFile } from '../../../src/hsm-platform/nvram.ts';
import type { FleetConfig, FleetPublicInfo } from '../../../src/protocol/fleet.ts';
import type { RecordStore } from '../../../src/stores/record/record-store.ts';
import { SqliteRecordStore } from '../../../src/stores/record/sqlite.ts';
import type { CoordinatorOptions } from '../../../src/vault-host/coordinator.ts';
import { VaultHttpServer } from '../../../src/vault-host/http-server.ts';
import { InProcessFleet } from '../../../src/vault-host/in-process-fleet.ts';
import type { EndorsementPeer } from '../../../src/vault-host/peer.ts';

/** Small Argon2id parameters for fast tests; the real ones are checked in one test only. */
/** A node that is down: unreachable, and every endorse request fails. */
export function deadPeer(nodeIndex: number): EndorsementPeer {
  return {
    nodeIndex,
    endorse: async () => {
      throw new Error(`node ${nodeIndex} is down`);
    },
    reachable: async () => false,
  };
}

export const TEST_ARGON2ID = { memory: 256, iterations: 1, parallelism: 1 };

export interface Ceremony {
  readonly config: FleetConfig;
  readonly sealedConfig: Uint8Array;
  /** Node config paths, by node index (each names the node's keystore and NVRAM file). */
  readonly nodeConfigPaths: readonly string[];
}

/** Runs the key ceremony into `dir` (software keystores, one node directory per node). */
export async function ceremony(dir: string, nodes: number, maxGuessLimit = 10): Promise<Ceremony> {
  const created = await createFleet({ dir, nodes, maxGuesses: maxGuessLimit });
  return {
    config: created.config,
    sealedConfig: created.sealedFleetConfig,
    nodeConfigPaths: created.nodeConfigPaths,
  };
}

export interface TestFleet {
  readonly dir: string;
  readonly ceremony: Ceremony;
  readonly fleet: InProcessFleet;
  readonly store: SqliteRecordStore;
  readonly platforms: readonly NodePlatform[];
  readonly nvrams: readonly NvramFile[];
  readonly publicInfo: FleetPublicInfo;
  readonly servers: VaultHttpServer[];
  /** Starts a vault host (coordinator in front of node `own`) on a free HTTP port. */
  serve(own?: number, options?: Pick<CoordinatorOptions, 'lockGraceMs' | 'log'>): Promise<VaultHttpServer>;
  client(
    options?: {
      url?: string;
      transport?: VaultTransport;
      memory?: RecordMemory;
    } & Partial<VaultClientOptions>,
  ): VaultClient;
  close(): Promise<void>;
}

export async function startTestFleet(
  options: {
    nodes?: number;
    maxGuessLimit?: number;
    /** Where the SQLite record store goes (default: the fleet's own temporary directory). */
    storeDir?: string;
    /** Wraps the real store the fleet uses (e.g. to observe every write); the default uses it as is. */
    wrapStore?: (store: RecordStore) => RecordStore;
  } = {},
): Promise<TestFleet> {
  const nodes = options.nodes ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-vault-'));
  const made = await ceremony(dir, nodes, options.maxGuessLimit);
  const platforms = made.nodeConfigPaths.map((path) => loadNodePlatform(path, { warn: () => undefined }));
  const nvrams = platforms.map((platform) => platform.nvram);
  const store = new SqliteRecordStore(join(options.storeDir ?? dir, 'records.sqlite'));
  const fleet = await InProcessFleet.start({
    nodes: platforms.map((platform) => ({ platform, sealedConfig: made.sealedConfig })),
    store: options.wrapStore?.(store) ?? store,
    quorum: made.config.quorum,
  });
  const servers: VaultHttpServer[] = [];
  const test: TestFleet = {
    dir,
    ceremony: made,
    fleet,
    store,
    platforms,
    nvrams,
    publicInfo: made.config.publicInfo(),
    servers,
    async serve(own = 0, coordinatorOptions = {}) {
      const server = await VaultHttpServer.listen(fleet.coordinator(own, coordinatorOptions));
      servers.push(server);
      return server;
    },
    client(clientOptions = {}) {
      const transport =
        clientOptions.transport ??
        new HttpVaultTransport(clientOptions.url ?? (servers[0] as VaultHttpServer).url);
      return new VaultClient({
        fleet: test.publicInfo,
        argon2id: TEST_ARGON2ID,
        ...clientOptions,
        transport,
      });
    },
    async close() {
      await Promise.all(servers.map((server) => server.close()));
      fleet.stop();
      for (const platform of platforms) platform.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return test;
}
