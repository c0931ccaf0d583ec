// The HTTP face of one vault node process (docs/ARCHITECTURE.md "Processes and deployment"):
//   POST /v1/vault    a client's sealed request frame (relayed by ChatD) → the response frame, with
//                     the activity hint for ChatD in a header (docs/PROTOCOL.md §9d)
//   POST /v1/endorse  another node's endorse request (CoreRequest) → what this node's core signed
//   GET  /v1/health   {"node", "region", "ok"}: liveness for the peers' reachability probe;
//   GET  /health      the same answer, at the path every Strongroom server uses for liveness
//   GET  /ready       200, or 503 with a reason, when the record store or a quorum of nodes is not
//                     reachable (docs/OPERATIONS.md "Health and readiness")
//   GET  /metrics     Prometheus text: requests by route and HTTP status, latency by route
//                     (docs/OPERATIONS.md "Vault node metrics"); counts and times only, never bodies
// Nothing here is trusted: frames are sealed to the fleet key, endorsements are signatures each
// core verifies itself. So the peer route needs no authentication of its caller — any host may ask
// a core to endorse, and the core endorses only valid transitions — and the server's only job is
// to bound what a caller can make it hold (body size, request time).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { messageOf } from '../errors.ts';
import {
  answerReadiness,
  LIVENESS_PATH,
  READINESS_PATH,
  type ReadinessCheck,
} from '../observability/probes.ts';
import { formatGuessesSpent, GUESSES_SPENT_HEADER, type VaultActivity } from '../protocol/vault/activity.ts';
import { BodyTooLargeError, MAX_BODY_BYTES, OCTET_STREAM, readBody } from './binary-http.ts';

export const VAULT_PATH = '/v1/vault';
export const ENDORSE_PATH = '/v1/endorse';
export const HEALTH_PATH = '/v1/health';
export const METRICS_PATH = '/metrics';
const KNOWN_PATHS = new Set([
  VAULT_PATH,
  ENDORSE_PATH,
  HEALTH_PATH,
  LIVENESS_PATH,
  READINESS_PATH,
  METRICS_PATH,
]);

/** One node's request metrics; the route label takes only the known paths (bounded cardinality). */
class NodeServerMetrics {
  readonly requests: Counter<'route' | 'status'>;
  readonly duration: Histogram<'route'>;

  constructor(readonly registry: Registry) {
    this.requests = new Counter({
      name: 'strongroom_vault_requests_total',
      help: 'HTTP requests a vault node answered, by route and status',
      labelNames: ['route', 'status'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'strongroom_vault_request_duration_seconds',
      help: 'Time from request to the end of the answer, by route',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  }

  /** Counts `outgoing` by route and status once it is answered (or its socket closes). */
  observe(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const path = (incoming.url ?? '').split('?')[0] ?? '';
    const route = KNOWN_PATHS.has(path) ? path : 'other';
    const stop = this.duration.startTimer({ route });
    outgoing.once('close', () => {
      stop();
      this.requests.inc({ route, status: String(outgoing.statusCode) });
    });
  }
}

/** Largest client frame accepted (the largest real frame is well under 4 KiB). */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

/** A handler's way to say "this request is malformed for this route": the server answers 400. */
export class BadRequestError extends Error {}

/** What the node does with each request; the node process wires these to its host and core. */
export interface NodeHandlers {
  /**
   * A client's request frame → the response frame to relay unchanged (errors are error frames),
   * and what handling it did.
   */
  client(frame: Uint8Array): Promise<{ frame: Uint8Array; activity: VaultActivity }>;
  /** A peer coordinator's request → this core's answer bytes (an endorsement or a refusal). */
  endorse(request: Uint8Array): Promise<Uint8Array>;
  /** Public facts for the health route. */
  health(): { node: string; region: string; ok: boolean };
  /** Whether the node can serve client requests now, for the readiness route. */
  ready: ReadinessCheck;
}

export interface RunningNodeServer {
  readonly server: Server;
  /** Base URL, e.g. http://127.0.0.1:4100 (the bound port when 0 was asked for). */
  readonly url: string;
  close(): Promise<void>;
}

/** Logs a failed request: never bodies (they are sealed, but there is no reason to keep them). */
export type RequestLogger = (event: { route: string; status: number; error: string }) => void;

/**
 * Serves `handlers` on `listen`. `registry` is where /metrics reads from: the node's other metrics
 * (src/vault-host/vault-metrics.ts) register there too.
 */
export async function startNodeServer(
  handlers: NodeHandlers,
  listen: { host: string; port: number },
  log: RequestLogger = () => undefined,
  registry: Registry = new Registry(),
): Promise<RunningNodeServer> {
  const metrics = new NodeServerMetrics(registry);
  const server = createServer((incoming, outgoing) => {
    metrics.observe(incoming, outgoing);
    if (incoming.method === 'GET' && (incoming.url ?? '').split('?')[0] === METRICS_PATH) {
      metrics.registry.metrics().then(
        (text) => outgoing.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => outgoing.writeHead(500).end(),
      );
      return;
    }
    route(handlers, incoming, outgoing, log).catch((error) => {
      log({ route: incoming.url ?? '', status: 500, error: messageOf(error) });
      if (!outgoing.headersSent) outgoing.writeHead(500).end();
      else outgoing.destroy();
    });
  });
  // A caller cannot hold a connection open by sending slowly.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(
  handlers: NodeHandlers,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  log: RequestLogger,
): Promise<void> {
  const path = (incoming.url ?? '').split('?')[0];
  if (incoming.method === 'GET' && (path === HEALTH_PATH || path === LIVENESS_PATH)) {
    outgoing.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(handlers.health()));
    return;
  }
  if (incoming.method === 'GET' && path === READINESS_PATH) {
    answerReadiness(handlers.ready, outgoing);
    return;
  }
  const target =
    path === VAULT_PATH
      ? {
          handler: async (body: Uint8Array) => {
            const { frame, activity } = await handlers.client(body);
            return { answer: frame, headers: { [GUESSES_SPENT_HEADER]: formatGuessesSpent(activity) } };
          },
          limit: MAX_CLIENT_FRAME_BYTES,
        }
      : path === ENDORSE_PATH
        ? {
            handler: async (body: Uint8Array) => ({ answer: await handlers.endorse(body), headers: {} }),
            limit: MAX_BODY_BYTES,
          }
        : undefined;
  if (target === undefined) {
    outgoing.writeHead(404).end();
    return;
  }
  if (incoming.method !== 'POST') {
    outgoing.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  let body: Uint8Array;
  try {
    body = await readBody(incoming, target.limit);
  } catch (error) {
    const status = error instanceof BodyTooLargeError ? 413 : 400;
    log({ route: path ?? '', status, error: messageOf(error) });
    outgoing.writeHead(status).end();
    return;
  }
  let answer: Uint8Array;
  let headers: Record<string, string>;
  try {
    ({ answer, headers } = await target.handler(body));
  } catch (error) {
    if (!(error instanceof BadRequestError)) throw error;
    log({ route: path ?? '', status: 400, error: messageOf(error) });
    outgoing.writeHead(400).end();
    return;
  }
  outgoing
    .writeHead(200, { 'content-type': OCTET_STREAM, 'content-length': answer.byteLength, ...headers })
    .end(answer);
}
