// A vault node's readiness (docs/OPERATIONS.md "Health and readiness"): it can serve a client
// request only when its record store answers and a quorum of the fleet's nodes (itself included)
// is reachable, the same two things the coordinator needs before it writes an intent
// (docs/PROTOCOL.md "Coordinator", step 3).
import type { Readiness } from '../observability/probes.ts';
import type { RecordStore } from '../stores/record/record-store.ts';
import type { EndorsementPeer } from './peer.ts';

export async function vaultReadiness(
  store: RecordStore,
  peers: readonly EndorsementPeer[],
  quorum: number,
): Promise<Readiness> {
  const [storeAnswers, reachable] = await Promise.all([
    store.ping().then(
      () => true,
      () => false,
    ),
    Promise.all(peers.map((peer) => peer.reachable())),
  ]);
  const reasons: string[] = [];
  if (!storeAnswers) reasons.push('the record store does not answer');
  const count = reachable.filter(Boolean).length;
  if (count < quorum) reasons.push(`${count} of ${peers.length} nodes reachable, a quorum needs ${quorum}`);
  return reasons.length === 0 ? { ready: true } : { ready: false, reason: reasons.join('; ') };
}
