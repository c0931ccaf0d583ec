// Test fleets: a key ceremony done in the test (the real `strongroom fleet init` belongs to the
// platform engineer), real software keystore files, one real NVRAM file per node, a real SQLite
// record store, the in-process fleet, and optionally vault hosts on real HTTP ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import * as opaque from '@serenity-kit/opaque';
import { VaultClient, type VaultClientOptions } from '../../../src/client/vault/client.ts';
import { HttpVaultTransport } from '../../../src/client/vault/http-transport.ts';
import type { RecordMemory } from '../../../src/client/vault/memory.ts';
import type { VaultTransport } from '../../../src/client/vault/transport.ts';
import { createNodeHpkeSuite } from '../../../src/hsm-platform/hpke-node.ts';
import { sealWithKey } from '../../../src/hsm-platform/keystore.ts';
import { NvramFile } from '../../../src/hsm-platform/nvram.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { openSoftwareKeystore, writeSoftwareKeystore } from '../../../src/hsm-platform/software.ts';
import {
  FLEET_CONFIG_AAD,
  FleetConfig,
  FleetMember,
  type FleetPublicInfo,
} from '../../../src/protocol/fleet.ts';
import { SqliteRecordStore } from '../../../src/stores/record/sqlite.ts';
import type { Platform } from '../../../src/vault-host/core-adapter.ts';
import { VaultHttpServer } from '../../../src/vault-host/http-server.ts';
import { InProcessFleet } from '../../../src/vault-host/in-process-fleet.ts';

/** Small Argon2id parameters for fast tests; the real ones are checked in one test only. */
export const TEST_ARGON2ID = { memory: 256, iterations: 1, parallelism: 1 };

export interface Ceremony {
  readonly config: FleetConfig;
  readonly sealedConfig: Uint8Array;
  readonly recordKey: Uint8Array;
  readonly keystorePaths: readonly string[];
  readonly opaqueServerSetup: string;
}

/** Makes fleet secrets and writes one software keystore file per node into `dir`. */
export async function ceremony(dir: string, nodes: number, maxGuessLimit = 10): Promise<Ceremony> {
  await opaque.ready;
  const fleetId = nodePrimitives.randomBytes(16);
  const recordKey = nodePrimitives.randomBytes(32);
  const opaqueServerSetup = opaque.server.createSetup();
  const suite = createNodeHpkeSuite();
  const pair = await suite.kem.generateKeyPair();
  const hpkePrivateKey = new Uint8Array(await suite.kem.serializePrivateKey(pair.privateKey));
  const hpkePublicKey = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
  const seeds = Array.from({ length: nodes }, () => nodePrimitives.randomBytes(32));
  const members = seeds.map(
    (seed, index) =>
      new FleetMember({
        index,
        name: `node-${index}`,
        region: 'test',
        endorsementPublicKey: ed25519.getPublicKey(seed),
      }),
  );
  const config = new FleetConfig({
    fleetId,
    members,
    quorum: Math.floor(nodes / 2) + 1,
    maxGuessLimit,
    hpkePublicKey,
    opaqueServerPublicKey: Uint8Array.from(
      Buffer.from(opaque.server.getPublicKey(opaqueServerSetup), 'base64url'),
    ),
  });
  const sealedConfig = sealWithKey(recordKey, config.serialize(), FLEET_CONFIG_AAD);
  const keystorePaths = seeds.map((seed, index) => {
    const path = join(dir, `node-${index}.keystore.json`);
    writeSoftwareKeystore(path, fleetId, index, {
      recordKey: Uint8Array.from(recordKey),
      opaqueServerSetup: new TextEncoder().encode(opaqueServerSetup),
      hpkePrivateKey: Uint8Array.from(hpkePrivateKey),
      endorsementPrivateKey: seed,
    });
    return path;
  });
  return { config, sealedConfig, recordKey, keystorePaths, opaqueServerSetup };
}

export interface TestFleet {
  readonly dir: string;
  readonly ceremony: Ceremony;
  readonly fleet: InProcessFleet;
  readonly store: SqliteRecordStore;
  readonly platforms: readonly Platform[];
  readonly nvrams: readonly NvramFile[];
  readonly publicInfo: FleetPublicInfo;
  readonly servers: VaultHttpServer[];
  /** Starts a vault host (coordinator in front of node `own`) on a free HTTP port. */
  serve(own?: number): Promise<VaultHttpServer>;
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
  options: { nodes?: number; maxGuessLimit?: number } = {},
): Promise<TestFleet> {
  const nodes = options.nodes ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-vault-'));
  const made = await ceremony(dir, nodes, options.maxGuessLimit);
  const nvrams = made.keystorePaths.map((_, index) => new NvramFile(join(dir, `node-${index}.nvram.sqlite`)));
  const keystores = made.keystorePaths.map((path, index) =>
    openSoftwareKeystore(path, { fleetId: made.config.fleetId, nodeIndex: index, warn: () => undefined }),
  );
  const platforms: Platform[] = keystores.map((keystore, index) => ({
    crypto: nodePrimitives,
    hpke: createNodeHpkeSuite(),
    keystore,
    nvram: nvrams[index] as NvramFile,
  }));
  const store = new SqliteRecordStore(join(dir, 'records.sqlite'));
  const fleet = await InProcessFleet.start({
    nodes: platforms.map((platform) => ({ platform, sealedConfig: made.sealedConfig })),
    store,
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
    async serve(own = 0) {
      const server = await VaultHttpServer.listen(fleet.coordinator(own));
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
      for (const keystore of keystores) keystore.close();
      for (const nvram of nvrams) nvram.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return test;
}
