// The one door from untrusted host code into the core in the same process (scripts/
// check-boundaries.mjs): bytes go in through VaultCore.handle and bytes come out.
import { CoreStartError, VaultCore } from '../hsm-core/core.ts';
import type { Platform } from '../hsm-core/platform.ts';
import type { EndorsementPeer } from './peer.ts';

export type { CorePrimitives, CoreSecretName, KeyStore, Nvram, Platform } from '../hsm-core/platform.ts';
export { CoreStartError };

/** A core running in this process, reachable only as an EndorsementPeer. */
export class InProcessPeer implements EndorsementPeer {
  private constructor(private readonly core: VaultCore) {}

  /** Starts the core over `platform`; it verifies `sealedConfig` itself (CoreStartError if not). */
  static async start(platform: Platform, sealedConfig: Uint8Array): Promise<InProcessPeer> {
    return new InProcessPeer(await VaultCore.start(platform, sealedConfig));
  }

  get nodeIndex(): number {
    return this.core.nodeIndex;
  }

  endorse(request: Uint8Array): Promise<Uint8Array> {
    return this.core.handle(request);
  }

  /** Zeroes the core's keys; the peer answers nothing afterwards. */
  stop(): void {
    this.core.stop();
  }
}
