// One vault node process (docs/ARCHITECTURE.md "Processes and deployment"): the node's core over its
// platform (keystore, NVRAM file), the untrusted coordinator in front of it, the record store
// (SQLite or etcd), HTTP peers to the other nodes, and the HTTP server ChatD and the peers call.

import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { StrongroomError, UsageError } from '../errors.ts';
import { loadNodePlatform, type NodePlatform } from '../hsm-platform/node-platform.ts';
import { parseListenAddress } from '../listen-address.ts';
import { FLEET_CONFIG_AAD, FleetConfig } from '../protocol/fleet.ts';
import { openRecordStore } from '../stores/record/index.ts';
import type { RecordStore } from '../stores/record/record-store.ts';
import { VaultCoordinator } from './coordinator.ts';
import { CoreStartError, InProcessPeer } from './core-adapter.ts';
import {
  ENDORSE_REQUEST_TYPE,
  HttpPeer,
  type RefusalEvent,
  RefusalReportingPeer,
  reportRefusal,
  serveEndorse,
} from './http-peer.ts';
import { NodeConfig } from './node-config.ts';
import { type RunningNodeServer, startNodeServer } from './node-server.ts';
import type { EndorsementPeer } from './peer.ts';
import { vaultReadiness } from './readiness.ts';
import { logVaultRequest } from './request-log.ts';
import { VaultMetrics } from './vault-metrics.ts';

export interface VaultNodeOptions {
  readonly configPath: string;
  /** Record store URL; overrides the config's recordStore.url. */
  readonly store?: string;
  /** host:port to listen on; overrides the config's listen. */
  readonly listen?: string;
  /** Bound on each request to a peer node. */
  readonly peerTimeoutMs?: number;
  /** Bounds on each etcd call and operation (etcd stores only). */
  readonly storeTimeouts?: { callTimeoutMs?: number; operationTimeoutMs?: number };
  /** Where the node logs (src/observability/log.ts); its lines get the node's name. */
  readonly log: Logger;
}

export interface RunningVaultNode {
  readonly url: string;
  readonly name: string;
  readonly region: string;
  readonly nodeIndex: number;
  close(): Promise<void>;
}

/**
 * A stale record makes every retry of every request meet the same refusals: one log line per
 * (node, record, version, reason) in this interval says it all without flooding the log.
 */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

function onceEvery<E extends { node: unknown; record: unknown; version: unknown; reason?: unknown }>(
  intervalMs: number,
  report: (event: E) => void,
): (event: E) => void {
  const last = new Map<string, number>();
  return (event) => {
    const key = `${event.node}/${event.record}/${event.version}/${event.reason}`;
    const now = Date.now();
    if (now - (last.get(key) ?? Number.NEGATIVE_INFINITY) < intervalMs) return;
    // Forget old entries so a long-running node does not keep every record it ever refused.
    if (last.size > 10_000) last.clear();
    last.set(key, now);
    report(event);
  };
}

/**
 * This node's own core as its coordinator sees it, with endorse requests started one event-loop
 * turn later. The coordinator asks every node at once, this core first; without the deferral this
 * core's whole endorsement (certificate checks, signature, NVRAM write) would run in the same
 * microtask run, before the requests to the other nodes reach their sockets, so the nodes would
 * work one after the other instead of together. Proposals and answers are not deferred.
 */
class EndorsesAfterRemotes implements EndorsementPeer {
  readonly inProcess = true;
  constructor(private readonly core: InProcessPeer) {}

  get nodeIndex(): number {
    return this.core.nodeIndex;
  }

  reachable(): Promise<boolean> {
    return this.core.reachable();
  }

  async endorse(request: Uint8Array): Promise<Uint8Array> {
    if (request[0] === ENDORSE_REQUEST_TYPE) await new Promise((resolve) => setImmediate(resolve));
    return this.core.endorse(request);
  }
}

/**
 * Events about another node name it `peer` (its index): `node` in every line of this process is
 * this node's own name (docs/OPERATIONS.md "Logs").
 */
function asPeerFields<F extends { node?: unknown }>(fields: F): Omit<F, 'node'> & { peer?: unknown } {
  if (!('node' in fields)) return fields;
  const { node, ...rest } = fields;
  return { ...rest, peer: node };
}

interface LogLine {
  readonly node: unknown;
  readonly record: unknown;
  readonly version: unknown;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** Starts a node; everything opened so far is closed again if a later step fails. */
export async function startVaultNode(options: VaultNodeOptions): Promise<RunningVaultNode> {
  let log = options.log;
  const closers: Array<() => unknown> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const platform = loadNodePlatform(options.configPath, {
      warn: (line) => log.warn({ event: 'software-keystore' }, line),
    });
    closers.push(() => platform.close());
    const config = platform.config;
    log = log.child({ node: config.name });
    const registry = new Registry();
    const metrics = new VaultMetrics(registry);
    const own = await startCore(platform);
    closers.push(() => own.stop());
    const fleet = await openFleetConfig(platform);
    const store = metrics.countStoreErrors(openStore(options, config));
    closers.push(() => store.close());

    const onRefusal = onceEvery(REFUSAL_LOG_INTERVAL_MS, (event: RefusalEvent) =>
      log.warn(
        { event: 'endorsement-refused', ...asPeerFields(event) },
        event.reason === 'conflict'
          ? `node ${event.node} refused to endorse record ${event.record} at version ${event.version}: it already endorsed a later or different state; the record store shows a stale record (rolled back or forked) and is not used for it`
          : `node ${event.node} refused to endorse record ${event.record} at version ${event.version} (${event.reason})`,
      ),
    );
    const onOwnRefusal = onceEvery(REFUSAL_LOG_INTERVAL_MS, (event: RefusalEvent) =>
      log.warn(
        { event: 'refused-to-endorse', ...asPeerFields(event) },
        `refused to endorse record ${event.record} at version ${event.version} (${event.reason})`,
      ),
    );
    const remotes = fleet.members
      .filter((member) => member.index !== own.nodeIndex)
      .map((member) => {
        const address = config.peers.find((peer) => peer.index === member.index);
        if (address === undefined) {
          throw new UsageError(`node config ${options.configPath} gives no URL for peer ${member.name}`, {
            hints: ['add {"index": N, "url": "http://host:port"} to "peers" for every other node'],
          });
        }
        return new HttpPeer(member.index, address.url, { timeoutMs: options.peerTimeoutMs });
      });
    closers.push(() => {
      for (const remote of remotes) remote.close();
    });
    const peers: EndorsementPeer[] = [new EndorsesAfterRemotes(own), ...remotes].map(
      (peer) => new RefusalReportingPeer(metrics.countPeerErrors(peer), onRefusal),
    );
    // A lying node's every answer is invalid: one line per (node, record, version) says it all.
    const onInvalid = onceEvery(REFUSAL_LOG_INTERVAL_MS, (line: LogLine) =>
      log.warn(asPeerFields(line.fields), line.message),
    );
    const coordinator = new VaultCoordinator({
      store,
      peers,
      own: peers[0] as EndorsementPeer,
      fleet,
      observer: {
        request: (event) => {
          metrics.request(event);
          logVaultRequest(log, event);
        },
        recordLocked: () => metrics.recordLocked(),
      },
      log: {
        warn: (fields, message) =>
          fields.event === 'invalid-endorsement'
            ? onInvalid({
                node: fields.node,
                record: fields.record,
                version: fields.version,
                fields,
                message,
              })
            : log.warn(asPeerFields(fields), message),
        info: (fields, message) => log.info(asPeerFields(fields), message),
      },
    });

    const listen = parseListenAddress(
      options.listen ?? config.listen ?? '',
      `pass --listen host:port or set "listen" in ${options.configPath}`,
    );
    const server: RunningNodeServer = await startNodeServer(
      {
        client: (frame) => coordinator.exchange(frame),
        endorse: async (request) => {
          const answer = await serveEndorse(own, request);
          // What this node refused, from its own side: the operator of every node sees it.
          reportRefusal(own.nodeIndex, request, answer, onOwnRefusal);
          return answer;
        },
        health: () => ({ node: config.name, region: config.region, ok: true }),
        ready: () => vaultReadiness(store, peers, fleet.quorum),
      },
      listen,
      (event) => log.warn({ event: 'request-failed', ...event }, `request to ${event.route} failed`),
      registry,
    );
    closers.push(() => server.close());
    log.info(
      { event: 'listening', url: server.url, node: config.name, region: config.region, index: own.nodeIndex },
      `vault node ${config.name} (${config.region}) listening on ${server.url}`,
    );
    return {
      url: server.url,
      name: config.name,
      region: config.region,
      nodeIndex: own.nodeIndex,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function startCore(platform: NodePlatform): Promise<InProcessPeer> {
  try {
    return await InProcessPeer.start(platform, platform.sealedFleetConfig);
  } catch (error) {
    if (error instanceof CoreStartError) {
      throw new StrongroomError(`the core did not start: ${error.message}`, {
        hints: ['check that the node config, keystore and fleet come from the same key ceremony'],
      });
    }
    throw error;
  }
}

/**
 * The membership and quorum, opened from the sealed config as the core opens it. The host only uses
 * them to know whom to ask and when to stop asking: the cores verify every certificate themselves.
 */
async function openFleetConfig(platform: NodePlatform): Promise<FleetConfig> {
  return FleetConfig.deserialize(await platform.keystore.open(platform.sealedFleetConfig, FLEET_CONFIG_AAD));
}

function openStore(options: VaultNodeOptions, config: NodeConfig): RecordStore {
  const fromConfig = config.recordStore?.url;
  const url = options.store ?? (typeof fromConfig === 'string' ? fromConfig : undefined);
  if (url === undefined) {
    throw new UsageError('no record store given', {
      hints: [
        'pass --store sqlite:PATH or --store etcd://host:port[,host:port...][/prefix]',
        'or set "recordStore": {"url": ...} in the node config',
      ],
    });
  }
  // A relative SQLite path in the config is relative to the config file, like its other paths.
  const resolved =
    options.store === undefined && !url.startsWith('etcd://')
      ? `sqlite:${NodeConfig.resolve(dirname(options.configPath), url.replace(/^sqlite:/, ''))}`
      : url;
  return openRecordStore(resolved, options.storeTimeouts);
}
