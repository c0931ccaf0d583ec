// What a started core holds (docs/PROTOCOL.md "Core"): its platform, the sealed fleet config it
// verified at start, its own node index, and the secrets it unwrapped. Refusal is the one error a
// core raises on purpose; handle() turns it into a `refused` response.
import type { FleetConfig } from '../protocol/fleet.ts';
import type { LoginStartResult, RefusalReason } from '../protocol/vault/responses.ts';
import type { OpenedRequest } from './channel.ts';
import type { OpaqueServer } from './opaque.ts';
import type { Platform } from './platform.ts';

export interface CoreContext {
  readonly platform: Platform;
  readonly config: FleetConfig;
  /** Found by matching this node's endorsement key in the sealed membership, never told by a host. */
  readonly nodeIndex: number;
  /** Ed25519 seed; lives until VaultCore.stop() zeroes it. */
  readonly endorsementKey: Uint8Array;
  /** HPKE recipient key imported into the platform's suite. */
  readonly hpkeKey: CryptoKeyPair;
  readonly opaque: OpaqueServer;
  /** Hashes of states this core has seen a valid quorum certificate for (bounded memory). */
  readonly certified: BoundedMap<true>;
  /**
   * This core's own endorsements by state hash: a certificate showing one of them needs no
   * signature check for this core's entry (Ed25519 signing is deterministic, so equal bytes are
   * the signature it made over that state's EndorsementMessage).
   */
  readonly signed: BoundedMap<Uint8Array>;
  /**
   * Login-start answers computed ahead (a `prepare` request) by hash of the spend state they
   * answer: released only by an answer showing a valid certificate of exactly that state, and
   * taken then. They hold no secret in clear (a KE2 and a sealed login state).
   */
  readonly prepared: BoundedMap<LoginStartResult>;
  /**
   * Intents (by SHA-256 of their bytes) that passed every endorsement check in a `check` request:
   * those checks depend only on the intent's bytes and this core's keys, so the endorse request
   * that follows skips them (once: the entry is taken). The mark is always checked at endorse time.
   */
  readonly checked: BoundedMap<true>;
  /**
   * Client frames this core opened recently, by SHA-256 of the frame: one request is proposed,
   * endorsed and answered by the same core, and HPKE-opening it once is enough. Evicted entries
   * have their response secret zeroed; the rest end with the core (VaultCore.stop).
   */
  readonly opened: BoundedMap<OpenedRequest>;
}

/**
 * A map that forgets its oldest entries past `limit` (calling `onEvict` on each, e.g. to zero a
 * secret): a cache, never a source of truth.
 */
export class BoundedMap<V> {
  readonly #entries = new Map<string, V>();
  constructor(
    private readonly limit: number,
    private readonly onEvict: (value: V) => void = () => undefined,
  ) {}
  get(key: string): V | undefined {
    return this.#entries.get(key);
  }
  has(key: string): boolean {
    return this.#entries.has(key);
  }
  /** Removes and returns the entry (the caller now owns it; onEvict is not called). */
  take(key: string): V | undefined {
    const value = this.#entries.get(key);
    this.#entries.delete(key);
    return value;
  }
  set(key: string, value: V): void {
    this.#entries.set(key, value);
    if (this.#entries.size > this.limit) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [string, V];
      this.#entries.delete(oldestKey);
      this.onEvict(oldest);
    }
  }
  clear(): void {
    for (const value of this.#entries.values()) this.onEvict(value);
    this.#entries.clear();
  }
}

/** A request the core will not serve; `reason` is all the host learns. */
export class Refusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    detail: string,
  ) {
    super(detail);
    this.name = 'Refusal';
  }
}
