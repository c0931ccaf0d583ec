// The transition table of docs/PROTOCOL.md §11, as the core computes it: from a certified from-state
// and the evidence, the one next state a node may endorse (docs/PROTOCOL.md §11). The
// proposing core and every endorsing core run the same code; neither trusts the host's reading.
import { bytesEqual, MalformedFrameError } from '../protocol/vault/bytes.ts';
import { VaultOp } from '../protocol/vault/frames.ts';
import { TransitionKind } from '../protocol/vault/intent.ts';
import { Labels } from '../protocol/vault/labels.ts';
import { ChangeProof, RecordState, RecordStatus } from '../protocol/vault/record.ts';
import {
  DeleteRequest,
  LoginFinishRequest,
  RegisterFinishRequest,
  RegistrationKind,
} from '../protocol/vault/requests.ts';
import { RefusalReason } from '../protocol/vault/responses.ts';
import {
  changeContent,
  LoginState,
  PendingRegistration,
  proofMessage,
  recordAad,
  SealedSecrets,
} from '../protocol/vault/sealed.ts';
import { type OpenedRequest, openRequest, UnopenableFrame } from './channel.ts';
import { type CoreContext, Refusal } from './context.ts';

/** The next state, and for create/change the secrets its sealed part must hold. */
export interface Next {
  readonly state: RecordState;
  readonly secrets?: SealedSecrets;
}

const refuse = (reason: RefusalReason, detail: string): never => {
  throw new Refusal(reason, detail);
};

/** Opens the evidence frame and checks it is the expected op for this record. */
async function openEvidence(
  ctx: CoreContext,
  evidence: Uint8Array,
  op: VaultOp,
  recordId: Uint8Array,
): Promise<OpenedRequest> {
  try {
    const opened = await openRequest(ctx, evidence);
    opened.responseSecret.fill(0); // evidence is checked, never answered
    if (opened.frame.op !== op) refuse(RefusalReason.badEvidence, 'evidence is for another op');
    if (!bytesEqual(opened.frame.recordId, recordId))
      refuse(RefusalReason.wrongRecord, 'evidence is for another record');
    return opened;
  } catch (error) {
    if (error instanceof UnopenableFrame) return refuse(RefusalReason.badEvidence, 'evidence does not open');
    throw error;
  }
}

function decode<T>(what: () => T): T {
  try {
    return what();
  } catch (error) {
    if (error instanceof MalformedFrameError) return refuse(RefusalReason.malformed, error.message);
    throw error;
  }
}

/**
 * Opens a blob this fleet's cores sealed (keystore AEAD under `aad`) and decodes it. Anything that
 * does not open or decode is bad evidence; the refusal says which blob, never why it failed.
 */
async function openSealed<T>(
  ctx: CoreContext,
  sealed: Uint8Array,
  aad: Uint8Array,
  deserialize: (bytes: Uint8Array) => T,
  what: string,
): Promise<T> {
  try {
    return deserialize(await ctx.platform.keystore.open(sealed, aad));
  } catch {
    return refuse(RefusalReason.badEvidence, `${what} does not open`);
  }
}

export function openSecrets(ctx: CoreContext, state: RecordState): Promise<SealedSecrets> {
  const aad = recordAad(Labels.sealedRecord, ctx.config.fleetId, state.recordId, state.incarnation);
  return openSealed(ctx, state.sealed, aad, SealedSecrets.deserialize, 'sealed part');
}

export function openLoginState(
  ctx: CoreContext,
  recordId: Uint8Array,
  blob: Uint8Array,
): Promise<LoginState> {
  const aad = recordAad(Labels.loginState, ctx.config.fleetId, recordId);
  return openSealed(ctx, blob, aad, LoginState.deserialize, 'login state');
}

export function openPending(
  ctx: CoreContext,
  recordId: Uint8Array,
  blob: Uint8Array,
): Promise<PendingRegistration> {
  const aad = recordAad(Labels.pendingRegistration, ctx.config.fleetId, recordId);
  return openSealed(ctx, blob, aad, PendingRegistration.deserialize, 'pending registration');
}

function requireActive(from: RecordState | undefined): RecordState {
  if (from === undefined || from.status !== RecordStatus.active)
    return refuse(RefusalReason.badTransition, 'record is not active');
  return from;
}

/** Fields every transition to v+1 shares: same record, next version. */
function successor(
  from: RecordState,
  changes: Partial<ConstructorParameters<typeof RecordState>[0]>,
): RecordState {
  return from.with({ version: from.version + 1n, ...changes });
}

/** The next state of `kind` from `from` given `evidence` (docs/PROTOCOL.md §11, row by row). */
export async function deriveNext(
  ctx: CoreContext,
  kind: TransitionKind,
  recordId: Uint8Array,
  from: RecordState | undefined,
  evidence: Uint8Array,
  spendKe1Hash?: Uint8Array,
): Promise<Next> {
  const cleared = { ke1Hash: undefined, ke1PaidAt: undefined };
  switch (kind) {
    case TransitionKind.spend: {
      const f = requireActive(from);
      if (f.guessesLeft < 1) refuse(RefusalReason.badTransition, 'no guesses left');
      if (spendKe1Hash === undefined) return refuse(RefusalReason.badTransition, 'spend without a KE1 hash');
      return {
        state: successor(f, {
          guessesLeft: f.guessesLeft - 1,
          ke1Hash: spendKe1Hash,
          ke1PaidAt: f.version + 1n,
        }),
      };
    }
    case TransitionKind.lock: {
      const f = requireActive(from);
      return { state: successor(f, { status: RecordStatus.locked, sealed: new Uint8Array(0), ...cleared }) };
    }
    case TransitionKind.refund:
      return { state: await deriveRefund(ctx, recordId, requireActive(from), evidence) };
    case TransitionKind.delete: {
      const f = requireActive(from);
      const opened = await openEvidence(ctx, evidence, VaultOp.delete, recordId);
      const body = decode(() => DeleteRequest.deserialize(opened.body));
      if (body.fromVersion !== f.version) refuse(RefusalReason.badEvidence, 'delete is for another version');
      const contentHash = ctx.platform.crypto.sha256(new Uint8Array(0));
      await checkProof(ctx, VaultOp.delete, f, contentHash, body.proofMac);
      return { state: successor(f, { status: RecordStatus.deleted, sealed: new Uint8Array(0), ...cleared }) };
    }
    case TransitionKind.create:
    case TransitionKind.change:
      return deriveRegistration(ctx, kind, recordId, from, evidence);
  }
}

/** Refund: the login of the spend the from-state still carries, verified here (docs/PROTOCOL.md §11 "refund"). */
async function deriveRefund(
  ctx: CoreContext,
  recordId: Uint8Array,
  from: RecordState,
  evidence: Uint8Array,
): Promise<RecordState> {
  const opened = await openEvidence(ctx, evidence, VaultOp.loginFinish, recordId);
  const body = decode(() => LoginFinishRequest.deserialize(opened.body));
  const login = await openLoginState(ctx, recordId, body.loginBlob);
  if (
    from.ke1Hash === undefined ||
    from.ke1PaidAt === undefined ||
    login.incarnation !== from.incarnation ||
    login.ke1PaidAt !== from.ke1PaidAt ||
    !ctx.platform.crypto.timingSafeEqual(login.ke1Hash, from.ke1Hash) ||
    !(from.lastSuccess < login.ke1PaidAt && login.ke1PaidAt <= from.version)
  ) {
    return refuse(RefusalReason.badEvidence, 'login is not for the spend this state carries');
  }
  const sessionKey = ctx.opaque.finishLogin(recordId, login.serverLoginState, body.ke3);
  login.serverLoginState.fill(0);
  if (sessionKey === undefined) return refuse(RefusalReason.badEvidence, 'login does not verify');
  sessionKey.fill(0); // an endorser only needs to know the login verified
  return successor(from, {
    guessesLeft: Math.min(from.limit, from.guessesLeft + 1),
    lastSuccess: login.ke1PaidAt,
    ke1Hash: undefined,
    ke1PaidAt: undefined,
  });
}

/** Create and change: the client's step-2 request and the step-1 pending blob (docs/PROTOCOL.md §10, §11). */
async function deriveRegistration(
  ctx: CoreContext,
  kind: TransitionKind.create | TransitionKind.change,
  recordId: Uint8Array,
  from: RecordState | undefined,
  evidence: Uint8Array,
): Promise<Next> {
  const version = from === undefined ? 1n : from.version + 1n;
  if (kind === TransitionKind.create && from !== undefined && from.status === RecordStatus.active) {
    refuse(RefusalReason.badTransition, 'create over an active record');
  }
  if (kind === TransitionKind.change) requireActive(from);
  const opened = await openEvidence(ctx, evidence, VaultOp.registerFinish, recordId);
  const body = decode(() => RegisterFinishRequest.deserialize(opened.body));
  const wanted = kind === TransitionKind.create ? RegistrationKind.create : RegistrationKind.change;
  if (body.kind !== wanted) refuse(RefusalReason.badEvidence, 'registration kind differs');
  if (body.targetVersion !== version)
    refuse(RefusalReason.badEvidence, 'registration is for another version');
  if (body.limit > ctx.config.maxGuessLimit)
    refuse(RefusalReason.badEvidence, 'limit above the fleet maximum');
  const pending = await openPending(ctx, recordId, body.pendingBlob);
  if (
    pending.kind !== wanted ||
    pending.targetVersion !== version ||
    !ctx.platform.crypto.timingSafeEqual(pending.registrationResponseHash, body.registrationResponseHash)
  ) {
    refuse(RefusalReason.badEvidence, 'pending registration does not match');
  }
  const secrets = new SealedSecrets(
    pending.credentialId,
    body.registrationRecord,
    body.wrappedK,
    body.authKey,
  );
  const fresh = {
    recordId,
    version,
    incarnation: version,
    status: RecordStatus.active,
    limit: body.limit,
    guessesLeft: body.limit,
    lastSuccess: version,
    ke1Hash: undefined,
    ke1PaidAt: undefined,
  };
  if (kind === TransitionKind.create) {
    // The sealed part is filled in by the caller (proposer seals, endorser compares contents).
    return { state: new RecordState({ ...fresh, changeProof: undefined, sealed: PLACEHOLDER }), secrets };
  }
  const f = from as RecordState;
  const contentHash = ctx.platform.crypto.sha256(
    changeContent(body.registrationRecord, body.wrappedK, body.authKey, body.limit),
  );
  await checkProof(ctx, VaultOp.registerFinish, f, contentHash, body.proofMac);
  const changeProof = new ChangeProof({
    fromIncarnation: f.incarnation,
    fromVersion: f.version,
    contentHash,
    mac: body.proofMac,
  });
  return { state: new RecordState({ ...fresh, changeProof, sealed: PLACEHOLDER }), secrets };
}

/** Stands in for a sealed part the caller replaces; never endorsed (endorse compares contents). */
export const PLACEHOLDER = Uint8Array.of(0);

/** The proof MAC of docs/PROTOCOL.md §7 under the from-state's auth_key, compared in constant time. */
async function checkProof(
  ctx: CoreContext,
  op: VaultOp,
  from: RecordState,
  contentHash: Uint8Array,
  mac: Uint8Array,
): Promise<void> {
  const secrets = await openSecrets(ctx, from);
  const expected = ctx.platform.crypto.hmacSha256(
    secrets.authKey,
    proofMessage({
      op,
      fleetId: ctx.config.fleetId,
      recordId: from.recordId,
      incarnation: from.incarnation,
      fromVersion: from.version,
      contentHash,
    }),
  );
  secrets.authKey.fill(0);
  if (!ctx.platform.crypto.timingSafeEqual(expected, mac))
    refuse(RefusalReason.badProof, 'proof MAC does not verify');
}
