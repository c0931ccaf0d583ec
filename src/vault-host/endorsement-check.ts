// Checking endorsements and certificates on the host side (docs/PROTOCOL.md §7: a certificate is
// signatures of a quorum of distinct fleet members over the state's EndorsementMessage). The cores
// check every certificate themselves; the host checks too so that a lying node's statement is
// never counted, never committed, and never wedges a record (docs/PROTOCOL.md §9, step 3).
import { nodePrimitives } from '../hsm-platform/primitives.ts';
import type { FleetMember } from '../protocol/fleet.ts';
import {
  type CertifiedState,
  EndorsementMessage,
  type RecordState,
  type Signature,
} from '../protocol/vault/record.ts';

/** What checking needs from a fleet config or fleet.pub: both are public facts. */
export interface FleetKeys {
  readonly fleetId: Uint8Array;
  readonly members: readonly FleetMember[];
  readonly quorum: number;
}

/** Whether `signature` is its member's endorsement of exactly `state`. */
export function endorsementVerifies(fleet: FleetKeys, state: RecordState, signature: Signature): boolean {
  const member = fleet.members[signature.nodeIndex];
  if (member === undefined) return false;
  const stateHash = nodePrimitives.sha256(state.hashInput());
  const message = new EndorsementMessage(fleet.fleetId, state.recordId, state.version, stateHash);
  return nodePrimitives.ed25519Verify(member.endorsementPublicKey, message.serialize(), signature.signature);
}

/** Whether `certified` carries a quorum of valid signatures of distinct fleet members. */
export function certificateVerifies(fleet: FleetKeys, certified: CertifiedState): boolean {
  const valid = certified.certificate.signatures.filter((signature) =>
    endorsementVerifies(fleet, certified.state, signature),
  );
  return new Set(valid.map((signature) => signature.nodeIndex)).size >= fleet.quorum;
}
