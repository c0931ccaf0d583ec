// Endorsement peers between vault node processes (docs/PROTOCOL.md §8 "Host and
// core"): the coordinator's EndorsementPeer for a remote node is one HTTP POST of the encoded
// CoreRequest to that node's /v1/endorse, and the node side hands it to its own core and returns
// the core's answer unchanged. Only endorse requests cross the network; everything the answer
// carries is a signature (or a refusal) of that core, which the coordinator checks before it counts
// it (docs/PROTOCOL.md §9 step 3, for every kind of peer) and every other core verifies in the
// certificate — the HTTP layer is trusted with nothing but liveness.
import { type Agent, get } from 'node:http';
import { deserializeCoreRequest, deserializeCoreResponse } from '../protocol/vault/core-rpc.ts';
import { TransitionKind } from '../protocol/vault/intent.ts';
import { RefusalReason } from '../protocol/vault/responses.ts';
import { keepAliveAgent, postBytes } from './binary-http.ts';
import { BadRequestError, ENDORSE_PATH, HEALTH_PATH } from './node-server.ts';
import type { EndorsementPeer } from './peer.ts';

/** Type bytes of an endorse CoreRequest and a refused CoreResponse (src/protocol/vault/core-rpc.ts). */
export const ENDORSE_REQUEST_TYPE = 2;
const REFUSED_RESPONSE_TYPE = 5;

export const DEFAULT_PEER_TIMEOUT_MS = 3000;

export interface HttpPeerOptions {
  readonly timeoutMs?: number;
}

/**
 * Another node's core, reached over HTTP. An unreachable or slow node rejects (UnavailableError).
 * Its answers are passed on as they came: the coordinator verifies every endorsement, from every
 * kind of peer, before it counts it, and logs the ones that are not the node's own valid signature
 * of exactly the proposed state (checking here too cost a second signature verification each).
 */
export class HttpPeer implements EndorsementPeer {
  readonly #url: URL;
  readonly #healthUrl: URL;
  readonly #agent: Agent = keepAliveAgent();
  readonly #timeoutMs: number;

  /** `baseUrl` is the node's base URL from the node config's peers, e.g. http://10.0.0.2:4100. */
  constructor(
    readonly nodeIndex: number,
    baseUrl: string,
    options: HttpPeerOptions = {},
  ) {
    this.#url = new URL(ENDORSE_PATH, baseUrl);
    this.#healthUrl = new URL(HEALTH_PATH, baseUrl);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
  }

  endorse(request: Uint8Array): Promise<Uint8Array> {
    return postBytes(this.#url, request, { timeoutMs: this.#timeoutMs, agent: this.#agent });
  }

  /** Liveness: the node's health route answers 200 within the timeout (no core work). */
  reachable(): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = get(this.#healthUrl, { agent: this.#agent, timeout: this.#timeoutMs }, (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      });
      probe.once('timeout', () => probe.destroy());
      probe.once('error', () => resolve(false));
    });
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** A request on the endorse route that is not an endorse CoreRequest; the server answers 400. */
export class NotAnEndorseRequestError extends BadRequestError {}

/**
 * The node side of the endorse route: passes an endorse request to the local core and returns
 * exactly what the core answered. Propose and answer requests are for a node's own host only.
 */
export function serveEndorse(core: EndorsementPeer, request: Uint8Array): Promise<Uint8Array> {
  if (request[0] !== ENDORSE_REQUEST_TYPE) {
    return Promise.reject(new NotAnEndorseRequestError('only endorse requests are served to peers'));
  }
  return core.endorse(request);
}

/** What an operator needs to know about a refused endorsement: public facts only. */
export interface RefusalEvent {
  readonly node: number;
  readonly record: string;
  readonly version: string;
  readonly transition: string;
  readonly reason: string;
}

/**
 * Wraps a peer so that every refusal it answers is reported. A refusal with reason `conflict` means
 * the node already endorsed a later or different state: the store showed something stale (a
 * rollback, a fork) — the event an operator must see (docs/PROTOCOL.md §9, step 3). Invalid endorsements
 * (a lying node) are the coordinator's to find and log (`invalid-endorsement`).
 */
export class RefusalReportingPeer implements EndorsementPeer {
  constructor(
    private readonly peer: EndorsementPeer,
    private readonly report: (event: RefusalEvent) => void,
  ) {}

  get nodeIndex(): number {
    return this.peer.nodeIndex;
  }

  get inProcess(): boolean | undefined {
    return this.peer.inProcess;
  }

  reachable(): Promise<boolean> {
    return this.peer.reachable();
  }

  async endorse(request: Uint8Array): Promise<Uint8Array> {
    const answer = await this.peer.endorse(request);
    reportRefusal(this.peer.nodeIndex, request, answer, this.report);
    return answer;
  }
}

/** Decodes a refused endorse exchange into a RefusalEvent; malformed bytes are reported as such. */
export function reportRefusal(
  node: number,
  request: Uint8Array,
  answer: Uint8Array,
  report: (event: RefusalEvent) => void,
): void {
  // Most answers are endorsements: decode nothing for them.
  if (answer[0] !== REFUSED_RESPONSE_TYPE) return;
  try {
    const response = deserializeCoreResponse(answer);
    const decoded = deserializeCoreRequest(request);
    if (response.type !== 'refused' || decoded.type !== 'endorse') return;
    const { intent } = decoded;
    report({
      node,
      record: Buffer.from(intent.to.recordId).toString('hex'),
      version: intent.to.version.toString(),
      transition: TransitionKind[intent.kind] ?? `kind ${intent.kind}`,
      reason: RefusalReason[response.reason] ?? `reason ${response.reason}`,
    });
  } catch {
    report({ node, record: 'unknown', version: 'unknown', transition: 'unknown', reason: 'malformed' });
  }
}
