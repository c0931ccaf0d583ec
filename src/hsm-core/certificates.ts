// Quorum certificates (docs/PROTOCOL.md §7): a state is part of a record's chain only when a quorum of
// distinct members of the sealed fleet config signed its EndorsementMessage.
import { bytesEqual, toHex } from '../protocol/vault/bytes.ts';
import { type CertifiedState, EndorsementMessage, type RecordState } from '../protocol/vault/record.ts';
import { RefusalReason } from '../protocol/vault/responses.ts';
import { type CoreContext, Refusal } from './context.ts';

export function stateHash(ctx: CoreContext, state: RecordState): Uint8Array {
  return ctx.platform.crypto.sha256(state.hashInput());
}

export function endorsementMessage(ctx: CoreContext, state: RecordState): Uint8Array {
  return new EndorsementMessage(
    ctx.config.fleetId,
    state.recordId,
    state.version,
    stateHash(ctx, state),
  ).serialize();
}

/**
 * Returns the shown state if its certificate holds a quorum of valid signatures of distinct members
 * of the sealed fleet config and it is for `recordId`; refuses otherwise. A host can only show
 * states a quorum endorsed (docs/PROTOCOL.md §7).
 */
export function verifyCertified(ctx: CoreContext, shown: CertifiedState, recordId: Uint8Array): RecordState {
  if (!bytesEqual(shown.state.recordId, recordId))
    throw new Refusal(RefusalReason.wrongRecord, 'state is for another record');
  const hash = stateHash(ctx, shown.state);
  if (!ctx.certifiedMemo.verifiedOnce(toHex(hash), () => hasQuorum(ctx, shown, hash)))
    throw new Refusal(RefusalReason.badCertificate, 'certificate lacks a quorum');
  return shown.state;
}

/** Whether `quorum` of the certificate's entries are valid member signatures over the state's Endorsement. */
function hasQuorum(ctx: CoreContext, shown: CertifiedState, hash: Uint8Array): boolean {
  const message = new EndorsementMessage(
    ctx.config.fleetId,
    shown.state.recordId,
    shown.state.version,
    hash,
  ).serialize();
  let valid = 0;
  // Certificate rejects repeated node indexes when it is built or decoded (record.ts), so each
  // valid entry is a distinct member.
  for (const { nodeIndex, signature } of shown.certificate.signatures) {
    const member = ctx.config.member(nodeIndex);
    if (member === undefined) continue;
    if (ctx.platform.crypto.ed25519Verify(member.endorsementPublicKey, message, signature)) valid++;
    if (valid >= ctx.config.quorum) return true;
  }
  return false;
}
