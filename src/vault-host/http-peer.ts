// Endorsement peers between vault node processes (DESIGN section 4; docs/PROTOCOL.md "Host and
// core"): the coordinator's EndorsementPeer for a remote node is one HTTP POST of the encoded
// CoreRequest to that node's /v1/endorse, and the node side hands it to its own core and returns
// the core's answer unchanged. Only endorse requests cross the network; everything the answer
// carries is a signature (or a refusal) of that core, which the coordinator's certificate and
// every other core verify — the HTTP layer is trusted with nothing but liveness.
import { type Agent, get } from 'node:http';
import { UnavailableError } from '../errors.ts';
import {
  deserializeCoreRequest,
  deserializeCoreResponse,
  serializeCoreResponse,
} from '../protocol/vault/core-rpc.ts';
import { TransitionKind } from '../protocol/vault/intent.ts';
import { RefusalReason } from '../protocol/vault/responses.ts';
import { keepAliveAgent, postBytes } from './binary-http.ts';
import { endorsementVerifies, type FleetKeys } from './endorsement-check.ts';
import { BadRequestError, ENDORSE_PATH, HEALTH_PATH } from './node-server.ts';
import type { EndorsementPeer } from './peer.ts';

/** Type bytes of an endorse CoreRequest and a refused CoreResponse (src/protocol/vault/core-rpc.ts). */
export const ENDORSE_REQUEST_TYPE = 2;
const REFUSED_RESPONSE_TYPE = 5;

export const DEFAULT_PEER_TIMEOUT_MS = 3000;

/** A remote node answered an endorsement that is not its valid signature of the proposed state. */
export class InvalidEndorsementError extends UnavailableError {}

export interface HttpPeerOptions {
  /** The fleet's members and keys: every endorsement is checked against its node's key. */
  readonly fleet: FleetKeys;
  readonly timeoutMs?: number;
}

/**
 * Another node's core, reached over HTTP. An unreachable or slow node rejects (UnavailableError);
 * so does a node whose endorsement is not its own valid signature of exactly the proposed state
 * (InvalidEndorsementError): a lying node's statement never reaches a certificate, where it would
 * make the commit unverifiable and wedge the record.
 */
export class HttpPeer implements EndorsementPeer {
  readonly #url: URL;
  readonly #healthUrl: URL;
  readonly #agent: Agent = keepAliveAgent();
  readonly #timeoutMs: number;
  readonly #fleet: FleetKeys;

  /** `baseUrl` is the node's base URL from the node config's peers, e.g. http://10.0.0.2:4100. */
  constructor(
    readonly nodeIndex: number,
    baseUrl: string,
    options: HttpPeerOptions,
  ) {
    this.#url = new URL(ENDORSE_PATH, baseUrl);
    this.#healthUrl = new URL(HEALTH_PATH, baseUrl);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
    this.#fleet = options.fleet;
  }

  async endorse(request: Uint8Array): Promise<Uint8Array> {
    const answer = await postBytes(this.#url, request, { timeoutMs: this.#timeoutMs, agent: this.#agent });
    this.#check(request, answer);
    return answer;
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

  #check(request: Uint8Array, answer: Uint8Array): void {
    let valid = false;
    let why = 'an unreadable answer';
    try {
      const response = deserializeCoreResponse(answer);
      if (response.type !== 'endorsement') return; // refusals count toward nothing anyway
      const decoded = deserializeCoreRequest(request);
      if (decoded.type !== 'endorse') {
        why = 'an endorsement nobody asked for';
      } else if (response.nodeIndex !== this.nodeIndex) {
        why = `an endorsement in the name of node ${response.nodeIndex}`;
      } else {
        valid = endorsementVerifies(this.#fleet, decoded.intent.to, response);
        why = 'a signature that does not verify for the proposed state';
      }
    } catch {
      // falls through: not a well-formed answer
    }
    if (!valid)
      throw new InvalidEndorsementError(`node ${this.nodeIndex} answered ${why}; it is not counted`);
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
 * Wraps a peer so that every refusal it answers, and every invalid endorsement it sends, is
 * reported. A refusal with reason `conflict` means the node already endorsed a later or different
 * state: the store showed something stale (a rollback, a fork) — the event an operator must see
 * (issue 5 "Rollback"). An invalid endorsement means the node (or whoever answers in its name) lies.
 */
export class RefusalReportingPeer implements EndorsementPeer {
  constructor(
    private readonly peer: EndorsementPeer,
    private readonly report: (event: RefusalEvent) => void,
  ) {}

  get nodeIndex(): number {
    return this.peer.nodeIndex;
  }

  reachable(): Promise<boolean> {
    return this.peer.reachable();
  }

  async endorse(request: Uint8Array): Promise<Uint8Array> {
    let answer: Uint8Array;
    try {
      answer = await this.peer.endorse(request);
    } catch (error) {
      if (error instanceof InvalidEndorsementError) {
        const refused = serializeCoreResponse({ type: 'refused', reason: RefusalReason.malformed });
        reportRefusal(this.peer.nodeIndex, request, refused, (event) =>
          this.report({ ...event, reason: 'invalid-endorsement' }),
        );
      }
      throw error;
    }
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
