// The one door from untrusted host code into the core in the same process (scripts/
// check-boundaries.mjs): bytes go in through VaultCore.handle and bytes come out.
import { CoreStartError, VaultCore } from '../hsm-core/core.ts';
import type { Platform } from '../hsm-core/platform.ts';
import type { FleetConfig } from '../protocol/fleet.ts';
import type { EndorsementPeer } from './peer.ts';

export type { CorePrimitives, CoreSecretName, KeyStore, Nvram, Platform } from '../hsm-core/platform.ts';
export { CoreStartError };

/** A core running in this process, reachable only as an EndorsementPeer. */
export class InProcessPeer implements EndorsementPeer {
  readonly inProcess = true;
  #stopped = false;
  private constructor(private readonly core: VaultCore) {}

  /** Starts the core over `platform`; it verifies `sealedConfig` itself (CoreStartError if not). */
  static async start(platform: Platform, sealedConfig: Uint8Array): Promise<InProcessPeer> {
    return new InProcessPeer(await VaultCore.start(platform, sealedConfig));
  }

  get nodeIndex(): number {
    return this.core.nodeIndex;
  }

  /** The sealed fleet config the core opened and verified at start (membership, quorum). */
  get fleetConfig(): FleetConfig {
    return this.core.fleetConfig;
  }

  endorse(request: Uint8Array): Promise<Uint8Array> {
    return this.core.handle(request);
  }

  /** A core in this process is reachable until it is stopped. */
  async reachable(): Promise<boolean> {
    return !this.#stopped;
  }

  /** Zeroes the core's keys; the peer answers nothing afterwards. */
  stop(): void {
    this.#stopped = true;
    this.core.stop();
  }
}
