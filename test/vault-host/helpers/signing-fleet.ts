// A fleet's public facts with endorsement seeds the test holds, for tests that sign endorsements
// themselves (a lying node, marks for repair) without running any core.
import { randomBytes } from 'node:crypto';
import { ed25519PublicKey } from '../../../src/hsm-platform/primitives.ts';
import { FleetMember, FleetPublicInfo } from '../../../src/protocol/fleet.ts';

export function signingFleet(nodes = 3, quorum = 2): { seeds: Uint8Array[]; fleet: FleetPublicInfo } {
  const seeds = Array.from({ length: nodes }, () => new Uint8Array(randomBytes(32)));
  const fleet = new FleetPublicInfo({
    fleetId: new Uint8Array(randomBytes(16)),
    members: seeds.map(
      (seed, index) =>
        new FleetMember({
          index,
          name: `node-${index}`,
          region: 'eu',
          endorsementPublicKey: ed25519PublicKey(seed),
        }),
    ),
    quorum,
    maxGuessLimit: 10,
    hpkePublicKey: new Uint8Array(32),
    opaqueServerPublicKey: new Uint8Array(32),
  });
  return { seeds, fleet };
}
