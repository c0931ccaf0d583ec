// The embedded server (docs/CHATD.md "Running it"): ChatD, a 3-node vault fleet in this
// process over one SQLite record store (software keystores), and ChatD's blob storage, all under
// one data directory. The fleet is made by the key ceremony on first start and reused after. The
// backup opener page is served at `/` on ChatD's HTTP server when it is built (src/server/web-page.ts).
//
//   DIR/fleet/            the ceremony's output: fleet.pub, node-N/ (config, keystore, NVRAM)
//   DIR/fleet.pub         the public fleet info a device pins (`account join --fleet-key`)
//   DIR/records.sqlite    the vault's record store
//   DIR/chatd/            ChatD's database and blobs
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { type CodeSender, NO_CODE_SENDER } from '../chatd/code-sender.ts';
import type { CaptureChannel, RateLimits } from '../chatd/context.ts';
import { ChatdServer } from '../chatd/server.ts';
import type { VaultNode } from '../chatd/vault-relay.ts';
import { createFleet, FLEET_PUB_FILE, NODE_CONFIG_FILE } from '../hsm-platform/ceremony.ts';
import { loadNodePlatform, type NodePlatform } from '../hsm-platform/node-platform.ts';
import { FleetPublicInfo } from '../protocol/fleet.ts';
import { SqliteRecordStore } from '../stores/record/sqlite.ts';
import { InProcessFleet } from '../vault-host/in-process-fleet.ts';
import { vaultReadiness } from '../vault-host/readiness.ts';
import { logVaultRequest } from '../vault-host/request-log.ts';
import { VaultMetrics } from '../vault-host/vault-metrics.ts';
import { loadWebPage } from './web-page.ts';

export const EMBEDDED_NODES = 3;

export interface EmbeddedServerOptions {
  readonly dataDir: string;
  readonly host?: string;
  readonly port?: number;
  /** How join codes reach users; without one, joins answer "unavailable" (see `--dev-codes`). */
  readonly codeSender?: CodeSender;
  readonly logger?: Logger;
  readonly rateLimits?: Partial<RateLimits>;
  readonly quotaBytes?: number;
  /** How long a record out of guesses stays before its lock (default DEFAULT_LOCK_GRACE_MS). */
  readonly lockGraceMs?: number;
  /**
   * Vault nodes of the same fleet outside this process (e.g. `vault node` processes), listed before
   * the in-process ones: ChatD tries them first when they are in its region and fails over to the rest.
   */
  readonly otherVaultNodes?: readonly VaultNode[];
  /** Sees every byte string ChatD receives, relays and sends (tests). */
  readonly capture?: (channel: CaptureChannel, bytes: Uint8Array) => void;
  /** The built web page to serve at `/` (default dist/web); false serves none. */
  readonly webRoot?: string | false;
}

export class EmbeddedServer {
  private constructor(
    readonly chatd: ChatdServer,
    readonly fleet: FleetPublicInfo,
    readonly fleetPubPath: string,
    private readonly closeVault: () => Promise<void>,
  ) {}

  /** ChatD's WebSocket URL. */
  get url(): string {
    return this.chatd.url;
  }

  static async start(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
    const logger = options.logger ?? pino({ level: 'silent' });
    const dir = options.dataDir;
    mkdirSync(dir, { recursive: true });
    const fleetDir = join(dir, 'fleet');
    if (!existsSync(join(fleetDir, FLEET_PUB_FILE))) {
      logger.info({ dir: fleetDir }, 'first start: running the key ceremony for a 3-node fleet');
      await createFleet({ dir: fleetDir, nodes: EMBEDDED_NODES, keystore: { kind: 'software' } });
    }
    const fleet = FleetPublicInfo.fromText(readFileSync(join(fleetDir, FLEET_PUB_FILE), 'utf8'));
    const platforms: NodePlatform[] = [];
    // One registry for the in-process vault's counters and ChatD's, served at GET /metrics.
    const registry = new Registry();
    const vaultMetrics = new VaultMetrics(registry);
    const store = new SqliteRecordStore(join(dir, 'records.sqlite'));
    let vault: InProcessFleet | undefined;
    const closeVault = async () => {
      vault?.stop();
      for (const platform of platforms) platform.close();
      await store.close();
    };
    try {
      for (const member of fleet.members) {
        platforms.push(
          loadNodePlatform(join(fleetDir, member.name, NODE_CONFIG_FILE), {
            warn: (line) => logger.warn({ node: member.name }, line),
          }),
        );
      }
      vault = await InProcessFleet.start({
        nodes: platforms.map((platform) => ({ platform, sealedConfig: platform.sealedFleetConfig })),
        store: vaultMetrics.countStoreErrors(store),
        quorum: fleet.quorum,
      });
      const running = vault;
      const vaultNodes = fleet.members.map((member) => {
        // Each in-process host logs one line per request and counts it, as a `vault node` does.
        const nodeLog = logger.child({ node: member.name });
        const coordinator = running.coordinator(member.index, {
          lockGraceMs: options.lockGraceMs,
          observer: {
            request: (event) => {
              logVaultRequest(nodeLog, event);
              vaultMetrics.request(event);
            },
            recordLocked: () => vaultMetrics.recordLocked(),
          },
        });
        // One of the vault nodes served in this process: the coordinator in front of one core,
        // ready when the shared store answers and a quorum of the cores is up.
        const node: VaultNode = {
          name: member.name,
          region: member.region,
          exchange: (frame) => coordinator.exchange(frame),
          ready: () => vaultReadiness(store, running.peers, fleet.quorum),
        };
        return node;
      });
      const fleetPubPath = join(dir, 'fleet.pub');
      copyFileSync(join(fleetDir, FLEET_PUB_FILE), fleetPubPath);
      const chatd = await ChatdServer.start({
        dataDir: join(dir, 'chatd'),
        host: options.host,
        port: options.port,
        vaultNodes: [...(options.otherVaultNodes ?? []), ...vaultNodes],
        fleetIds: [fleet.fleetId],
        localRegion: fleet.members[0]?.region,
        codeSender: options.codeSender ?? NO_CODE_SENDER,
        logger,
        rateLimits: options.rateLimits,
        quotaBytes: options.quotaBytes,
        capture: options.capture,
        // ChatD's counters and the vault's at GET /metrics (docs/OPERATIONS.md "Embedded server").
        metrics: registry,
        page: options.webRoot === false ? undefined : loadWebPage(logger, options.webRoot),
      });
      return new EmbeddedServer(chatd, fleet, fleetPubPath, closeVault);
    } catch (error) {
      await closeVault();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.chatd.close();
    await this.closeVault();
  }
}
