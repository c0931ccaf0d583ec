// What a started core holds (docs/PROTOCOL.md §8): its platform, the sealed fleet config it
// verified at start, its own node index, the secrets it unwrapped, and its one memo
// (certified-memo.ts). Refusal is the one error a core raises on purpose; handle() turns it into a
// `refused` response.
import type { FleetConfig } from '../protocol/fleet.ts';
import type { RefusalReason } from '../protocol/vault/responses.ts';
import type { CertifiedMemo } from './certified-memo.ts';
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
  /** Hashes of states whose certificate this core verified: its one optimisation, public data only. */
  readonly certifiedMemo: CertifiedMemo;
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
