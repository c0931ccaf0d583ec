// Quorum certificates (DESIGN section 4): a state is part of a record's chain only when a quorum of
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
 * Returns the shown state if its certificate holds a quorum of valid member signatures and it is
 * for `recordId`; refuses otherwise. A host can only show states a quorum endorsed.
 */
export function verifyCertified(ctx: CoreContext, shown: CertifiedState, recordId: Uint8Array): RecordState {
  if (!bytesEqual(shown.state.recordId, recordId))
    throw new Refusal(RefusalReason.wrongRecord, 'state is for another record');
  const hash = stateHash(ctx, shown.state);
  const key = toHex(hash);
  // A state is certified once a quorum signed it, whichever certificate is shown later: the core
  // remembers hashes it verified (in its own memory) and skips re-verifying them.
  if (ctx.certified.has(key)) return shown.state;
  const message = new EndorsementMessage(
    ctx.config.fleetId,
    shown.state.recordId,
    shown.state.version,
    hash,
  ).serialize();
  let valid = 0;
  const mine = ctx.signed.get(key);
  for (const { nodeIndex, signature } of shown.certificate.signatures) {
    const member = ctx.config.member(nodeIndex);
    if (member === undefined) continue;
    // This core's own endorsement of this very state needs no check: equal bytes are the signature
    // it made (Ed25519 is deterministic), so verifying them could only say yes.
    if (nodeIndex === ctx.nodeIndex && mine !== undefined && bytesEqual(signature, mine)) valid++;
    else if (ctx.platform.crypto.ed25519Verify(member.endorsementPublicKey, message, signature)) valid++;
    if (valid >= ctx.config.quorum) {
      ctx.certified.set(key, true);
      return shown.state;
    }
  }
  if (valid < ctx.config.quorum)
    throw new Refusal(RefusalReason.badCertificate, 'certificate lacks a quorum');
  return shown.state;
}
