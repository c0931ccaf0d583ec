// Relaying sealed vault frames to the fleet (docs/CHATD.md "Vault relay": to a
// healthy vault node, nearest region first, failing over to the others). The relay moves bytes
// and reads only the response frame's outer kind, to tell "this node could not answer" from an
// answer; it never opens anything. Beside the frame it passes on the vault host's unsealed
// activity hint (docs/PROTOCOL.md §9d), which ChatD uses only to announce.

import { get } from 'node:http';
import { messageOf, UnavailableError } from '../errors.ts';
import { READINESS_PATH, type Readiness } from '../observability/probes.ts';
import { GUESSES_SPENT_HEADER, parseGuessesSpent, type VaultActivity } from '../protocol/vault/activity.ts';
import { deserializeResponseFrame, ErrorCode as VaultErrorCode } from '../protocol/vault/frames.ts';
import { keepAliveAgent, postForAnswer } from '../vault-host/binary-http.ts';

/** A vault node's answer: the response frame, and its host's hint when it gave a well-formed one. */
export interface RelayedAnswer {
  readonly frame: Uint8Array;
  /** Advisory: from the operator's side, never proof (docs/PROTOCOL.md §9d). */
  readonly activity: VaultActivity | undefined;
}

/** One vault node as the relay sees it: a name, a region, and a way to exchange one frame. */
export interface VaultNode {
  readonly name: string;
  readonly region: string;
  /** Sends one request frame, resolves with the answer; rejects when the node fails. */
  exchange(frame: Uint8Array, signal: AbortSignal): Promise<RelayedAnswer>;
  /** Whether the node can serve client requests now (docs/OPERATIONS.md "Health and readiness"). */
  ready(): Promise<Readiness>;
}

/** How long ChatD's readiness waits for a node's own readiness answer. */
const NODE_READINESS_TIMEOUT_MS = 5000;
/** A node's reason is shown in ChatD's answer: bounded, so a node cannot make it grow. */
const MAX_REASON_CHARS = 200;

/**
 * A vault node reached over HTTP: `POST {url}` with the frame as an application/octet-stream body,
 * on kept-alive node:http connections (fetch cost about three times the CPU per frame).
 */
export class HttpVaultNode implements VaultNode {
  readonly #url: URL;
  readonly #agent = keepAliveAgent();

  constructor(
    readonly name: string,
    readonly region: string,
    url: string,
  ) {
    this.#url = new URL(url);
  }

  async exchange(frame: Uint8Array, signal: AbortSignal): Promise<RelayedAnswer> {
    // The relay's signal bounds the exchange; this bound only backs it up.
    const answer = await postForAnswer(this.#url, frame, { timeoutMs: 60_000, agent: this.#agent, signal });
    return { frame: answer.body, activity: parseGuessesSpent(answer.headers[GUESSES_SPENT_HEADER]) };
  }

  /** The node's `GET /ready`: its status and reason; not answering in time is a reason too. */
  ready(): Promise<Readiness> {
    return new Promise((resolve) => {
      const notReady = (reason: string) => resolve({ ready: false, reason });
      const probe = get(
        new URL(READINESS_PATH, this.#url),
        { agent: this.#agent, timeout: NODE_READINESS_TIMEOUT_MS },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body = (body + chunk).slice(0, 4 * MAX_REASON_CHARS);
          });
          response.once('end', () => {
            if (response.statusCode === 200) return resolve({ ready: true });
            let reason = `answered ${response.statusCode}`;
            try {
              const answer = JSON.parse(body) as { reason?: unknown };
              if (typeof answer.reason === 'string') reason = answer.reason.slice(0, MAX_REASON_CHARS);
            } catch {
              // Not the readiness JSON: the status says enough.
            }
            notReady(reason);
          });
          response.once('error', () => notReady('unreachable'));
        },
      );
      probe.once('timeout', () => probe.destroy());
      probe.once('error', () => notReady('unreachable'));
    });
  }

  /** Drops the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** Settles with `work`, or rejects when `signal` aborts first (a node that ignores its signal). */
function withDeadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(new Error('timed out'));
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

export interface RelayOptions {
  /** The region ChatD runs in; its nodes are tried first. */
  readonly localRegion?: string;
  /** How long one node may take before the next is tried (default 5000 ms). */
  readonly timeoutMs?: number;
  /** How long a failed node is tried only after the others (default 10000 ms). */
  readonly backoffMs?: number;
  /** Told of every failed attempt (for logs and metrics); never given frame bytes. */
  readonly onNodeFailure?: (node: VaultNode, reason: string) => void;
  readonly now?: () => number;
}

export class VaultRelay {
  private readonly downUntil = new Map<VaultNode, number>();
  private readonly timeoutMs: number;
  private readonly backoffMs: number;
  private readonly now: () => number;

  constructor(
    private readonly nodes: readonly VaultNode[],
    private readonly options: RelayOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.backoffMs = options.backoffMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Nodes in the order to try: healthy before recently failed, local region before others. */
  order(): VaultNode[] {
    const now = this.now();
    const rank = (node: VaultNode) =>
      ((this.downUntil.get(node) ?? 0) > now ? 2 : 0) + (node.region === this.options.localRegion ? 0 : 1);
    return this.nodes
      .map((node, index) => ({ node, index }))
      .sort((a, b) => rank(a.node) - rank(b.node) || a.index - b.index)
      .map((entry) => entry.node);
  }

  /**
   * Sends `frame` to the first node that answers. A node fails when it errs, times out, answers
   * something that is not a vault response frame, or answers "unavailable" (it could not reach a
   * quorum; another node may). Throws UnavailableError when every node failed.
   */
  async relay(frame: Uint8Array): Promise<RelayedAnswer> {
    for (const node of this.order()) {
      try {
        const signal = AbortSignal.timeout(this.timeoutMs);
        const response = await withDeadline(node.exchange(frame, signal), signal);
        const parsed = deserializeResponseFrame(response.frame);
        if (parsed.kind === 'error' && parsed.code === VaultErrorCode.unavailable) {
          throw new Error('answered unavailable');
        }
        this.downUntil.delete(node);
        return response;
      } catch (error) {
        this.downUntil.set(node, this.now() + this.backoffMs);
        const reason = messageOf(error);
        this.options.onNodeFailure?.(node, reason);
      }
    }
    throw new UnavailableError(`no vault node answered (${this.nodes.length} tried)`);
  }

  /**
   * Ready when at least one node is ready (a client request can then be answered); otherwise the
   * reason names each node and what it said.
   */
  async ready(): Promise<Readiness> {
    const answers = await Promise.all(
      this.nodes.map((node) =>
        node.ready().catch((): Readiness => ({ ready: false, reason: 'readiness check failed' })),
      ),
    );
    if (answers.some((answer) => answer.ready)) return { ready: true };
    const reasons = answers.map((answer, index) =>
      answer.ready ? '' : `${this.nodes[index]?.name}: ${answer.reason}`,
    );
    return { ready: false, reason: `no vault node is ready (${reasons.join('; ') || 'none configured'})` };
  }

  /** relay(), the frame only: the relay as a VaultTransport (in-process SDK clients, benches). */
  async exchange(frame: Uint8Array): Promise<Uint8Array> {
    return (await this.relay(frame)).frame;
  }
}
