// The embedded default fleet (docs/ARCHITECTURE.md "Processes and deployment"): N cores in this process, each over its own
// platform (keystore, NVRAM file), one record store, and coordinators that reach the cores through
// in-process peers. Several coordinators may share it, as several vault hosts share a real fleet.

import type { RecordStore } from '../stores/record/record-store.ts';
import { type CoordinatorOptions, VaultCoordinator } from './coordinator.ts';
import { InProcessPeer, type Platform } from './core-adapter.ts';

export interface FleetNode {
  readonly platform: Platform;
  /** keystore.seal(FleetConfig bytes, FLEET_CONFIG_AAD) from the key ceremony. */
  readonly sealedConfig: Uint8Array;
}

export class InProcessFleet {
  private constructor(
    readonly peers: readonly InProcessPeer[],
    readonly store: RecordStore,
    readonly quorum: number,
  ) {}

  /**
   * Starts every core (each verifies the sealed config and finds its own index). `quorum` must be
   * the sealed config's: the coordinators count endorsements against the config the cores opened.
   */
  static async start(options: {
    nodes: readonly FleetNode[];
    store: RecordStore;
    quorum: number;
  }): Promise<InProcessFleet> {
    const peers = await Promise.all(
      options.nodes.map((node) => InProcessPeer.start(node.platform, node.sealedConfig)),
    );
    const sealedQuorum = peers[0]?.fleetConfig.quorum;
    if (sealedQuorum !== options.quorum) {
      for (const peer of peers) peer.stop();
      throw new RangeError(`quorum ${options.quorum} is not the sealed fleet config's (${sealedQuorum})`);
    }
    return new InProcessFleet(peers, options.store, options.quorum);
  }

  /**
   * A coordinator acting as the vault host in front of node `ownIndex` (its proposals and answers);
   * `options` sets its lock grace period, log and observer.
   */
  coordinator(
    ownIndex = 0,
    options: Pick<CoordinatorOptions, 'lockGraceMs' | 'log' | 'observer'> = {},
  ): VaultCoordinator {
    const own = this.peers.find((peer) => peer.nodeIndex === ownIndex);
    if (own === undefined) throw new RangeError(`no node ${ownIndex} in this fleet`);
    // The cores share this process's CPU: asking more than a quorum only adds work.
    return new VaultCoordinator({
      store: this.store,
      peers: this.peers,
      own,
      fleet: own.fleetConfig,
      fanout: 'quorum-first',
      ...options,
    });
  }

  /** Stops every core (zeroing its keys). The store and platforms stay open: their owner closes them. */
  stop(): void {
    for (const peer of this.peers) peer.stop();
  }
}
