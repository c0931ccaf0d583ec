// What a started core holds (docs/PROTOCOL.md "Core"): its platform, the sealed fleet config it
// verified at start, its own node index, and the secrets it unwrapped. Refusal is the one error a
// core raises on purpose; handle() turns it into a `refused` response.
import type { FleetConfig } from '../protocol/fleet.ts';
import type { RefusalReason } from '../protocol/vault/responses.ts';
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
  readonly certified: BoundedSet;
}

/** A set that forgets its oldest entries past `limit`: a cache, never a source of truth. */
export class BoundedSet {
  readonly #entries = new Set<string>();
  constructor(private readonly limit: number) {}
  has(key: string): boolean {
    return this.#entries.has(key);
  }
  add(key: string): void {
    this.#entries.add(key);
    if (this.#entries.size > this.limit) {
      const oldest = this.#entries.values().next().value as string;
      this.#entries.delete(oldest);
    }
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
