// The ChatD server (docs/CHATD.md): an HTTP server that upgrades `/v1/chatd` to
// WebSocket connections, with its SQLite state and blob directory under one data dir, the vault
// relay and the notifier. `GET /health` answers "ok"; `GET /ready` answers 200 while the account
// store answers and at least one vault node is ready, 503 with the reason otherwise
// (docs/OPERATIONS.md "Health and readiness", docs/CHATD.md "ChatD across regions");
// `GET /metrics` serves Prometheus metrics
// when enabled; any other plain HTTP request goes to the `page` handler when one is given (the
// backup opener page, src/web/serve.ts), so devices and the page share one address.
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import { answerReadiness, LIVENESS_PATH, READINESS_PATH } from '../observability/probes.ts';
import { MAX_FRAME_BYTES } from '../protocol/chatd/message.ts';
import { DirectoryBlobStore } from '../stores/blob/directory.ts';
import type { AccountStore } from './account-store.ts';
import { type AccountBlobStores, BlobStorage } from './blob-storage.ts';
import type { CodeSender } from './code-sender.ts';
import { ChatdConnection } from './connection.ts';
import {
  type CaptureChannel,
  type ChatdContext,
  DEFAULT_APPROVAL_WAIT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_QUOTA_BYTES,
  DEFAULT_RATE_LIMITS,
  type RateLimits,
} from './context.ts';
import { SqliteAccountStore } from './database.ts';
import { DEFAULT_JOIN_CODE_POLICY, type JoinCodePolicy, JoinCodes } from './join-codes.ts';
import { ChatdMetrics } from './metrics.ts';
import { Notifier } from './notifier.ts';
import { RateLimiter } from './rate-limit.ts';
import { type VaultNode, VaultRelay } from './vault-relay.ts';

export const CHATD_PATH = '/v1/chatd';

export interface ChatdOptions {
  /** ChatD's state: `chatd.sqlite` and `blobs/` are made here unless the next two say otherwise. */
  readonly dataDir: string;
  /**
   * The account store, when shared with other ChatDs (docs/CHATD.md "ChatD across regions"); the
   * server closes it. Default: SQLite in the data dir.
   */
  readonly accountStore?: AccountStore;
  /** Each account's blob store, when shared (S3); default: a directory per account in the data dir. */
  readonly blobStores?: AccountBlobStores;
  /** Where to listen (default 127.0.0.1, an ephemeral port). */
  readonly host?: string;
  readonly port?: number;
  /** The vault nodes to relay to, and the fleets whose frames are accepted. */
  readonly vaultNodes: readonly VaultNode[];
  readonly fleetIds: readonly Uint8Array[];
  readonly localRegion?: string;
  readonly relayTimeoutMs?: number;
  readonly codeSender: CodeSender;
  readonly joinCodePolicy?: Partial<JoinCodePolicy>;
  readonly rateLimits?: Partial<RateLimits>;
  readonly quotaBytes?: number;
  readonly approvalWaitMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly logger?: Logger;
  /**
   * Serve `GET /metrics` (prom-client). A Registry: ChatD's counters join it and all of it is served
   * (the embedded server's vault metrics, docs/OPERATIONS.md "Embedded server").
   */
  readonly metrics?: boolean | Registry;
  /** Serves every other plain HTTP request (the web page at `/`); without one they get 404. */
  readonly page?: (request: IncomingMessage, response: ServerResponse) => void;
  /** Sees every byte string ChatD receives, relays and sends (tests: ChatD learns nothing). */
  readonly capture?: (channel: CaptureChannel, bytes: Uint8Array) => void;
  readonly now?: () => number;
}

function clientAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}

export class ChatdServer {
  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly store: AccountStore,
    private readonly notifier: Notifier,
    /** `ws://host:port/v1/chatd`, the URL devices connect to. */
    readonly url: string,
  ) {}

  static async start(options: ChatdOptions): Promise<ChatdServer> {
    mkdirSync(options.dataDir, { recursive: true });
    const now = options.now ?? Date.now;
    const logger = options.logger ?? pino({ level: 'silent' });
    const store = options.accountStore ?? new SqliteAccountStore(join(options.dataDir, 'chatd.sqlite'));
    const blobRoot = join(options.dataDir, 'blobs');
    if (options.blobStores === undefined) mkdirSync(blobRoot, { recursive: true });
    const blobStores =
      options.blobStores ??
      ((accountId: number) => new DirectoryBlobStore(join(blobRoot, String(accountId))));
    const limits = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
    // The limits that guard the vault and the join codes hold across every ChatD sharing the store;
    // the per-address ones stay per process (docs/CHATD.md "Rate limits").
    const sharedOrLocal = (name: 'vaultPerAccount' | 'joinCodesPerUser') =>
      store.sharedBuckets(name, limits[name], now) ?? new RateLimiter(limits[name], now);
    const metrics =
      options.metrics instanceof Registry
        ? new ChatdMetrics(options.metrics)
        : options.metrics
          ? new ChatdMetrics()
          : undefined;
    const relay = new VaultRelay(options.vaultNodes, {
      localRegion: options.localRegion,
      timeoutMs: options.relayTimeoutMs,
      now,
      onNodeFailure: (node, reason) => {
        logger.warn({ node: node.name, region: node.region, reason }, 'vault node failed; trying the next');
        metrics?.relayFailures.inc({ node: node.name });
      },
    });
    const notifier = new Notifier(store, {
      now,
      onError: (error) =>
        logger.warn({ err: error }, 'watching or reading notifications in the account store failed'),
      onPoll: () => metrics?.notificationPolls.inc(),
      onWatching: () => logger.info('watching the account store for notifications'),
    });
    const ctx: ChatdContext = {
      store,
      joinCodes: await JoinCodes.open(store, { ...DEFAULT_JOIN_CODE_POLICY, ...options.joinCodePolicy }, now),
      codeSender: options.codeSender,
      relay,
      blobs: new BlobStorage(blobStores, store, {
        quotaBytes: options.quotaBytes ?? DEFAULT_QUOTA_BYTES,
        now,
        onCleanupError: (error) =>
          logger.warn({ err: error }, 'deleting a blob object failed; a later sweep deletes it'),
      }),
      notifier,
      logger,
      fleetIds: options.fleetIds.map((id) => Uint8Array.from(id)),
      approvalWaitMs: options.approvalWaitMs ?? DEFAULT_APPROVAL_WAIT_MS,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      limiters: {
        vaultPerAccount: sharedOrLocal('vaultPerAccount'),
        vaultPerAddress: new RateLimiter(limits.vaultPerAddress, now),
        joinCodesPerUser: sharedOrLocal('joinCodesPerUser'),
        joinCodesPerAddress: new RateLimiter(limits.joinCodesPerAddress, now),
        connectionsPerAddress: new RateLimiter(limits.connectionsPerAddress, now),
      },
      capture: metrics
        ? (channel, bytes) => {
            metrics.bytes.inc({ channel }, bytes.length);
            options.capture?.(channel, bytes);
          }
        : options.capture,
      now,
    };

    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    const http = createServer((request, response) => {
      if (request.method === 'GET' && request.url === LIVENESS_PATH) {
        response.end('ok\n');
      } else if (request.method === 'GET' && request.url === READINESS_PATH) {
        answerReadiness(async () => {
          // The store first: without it no device can even be recognised.
          const storeProblem = await store.unready();
          return storeProblem === undefined ? relay.ready() : { ready: false, reason: storeProblem };
        }, response);
      } else if (metrics && request.method === 'GET' && request.url === '/metrics') {
        metrics.render().then(
          (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
          () => response.writeHead(500).end(),
        );
      } else if (options.page) {
        options.page(request, response);
      } else {
        response.writeHead(404).end();
      }
    });
    http.on('upgrade', (request, socket, head) => {
      if (new URL(request.url ?? '/', 'http://x').pathname !== CHATD_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        metrics?.connections.inc();
        new ChatdConnection(ctx, ws, clientAddress(request));
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const address = http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `ws://${host}:${address.port}${CHATD_PATH}`;
    logger.info({ url }, 'chatd listening');
    return new ChatdServer(http, wss, store, notifier, url);
  }

  /** Closes every connection, stops listening and closes the account store. */
  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.notifier.close();
    await this.store.close();
  }
}
