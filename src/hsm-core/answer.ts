// The core's answers to clients (docs/PROTOCOL.md §10): each computed from the certified state
// the host shows and sealed to the request. Operations that change nothing (registration step 1,
// KE2 for a paid KE1, status) live here; so does the last step of every flow that did change it.
import { MalformedFrameError } from '../protocol/vault/bytes.ts';
import { VaultOp } from '../protocol/vault/frames.ts';
import { Labels } from '../protocol/vault/labels.ts';
import { type RecordState, RecordStatus } from '../protocol/vault/record.ts';
import {
  DeleteRequest,
  LoginFinishRequest,
  LoginStartRequest,
  RegisterFinishRequest,
  RegisterStartRequest,
  RegistrationKind,
  StatusRequest,
} from '../protocol/vault/requests.ts';
import {
  LoginFinishResult,
  LoginStartResult,
  Outcome,
  RecordSummary,
  Recovery,
  RefusalReason,
  RegisterStartResult,
  type VaultResponse,
} from '../protocol/vault/responses.ts';
import { ke1Binding, LoginState, PendingRegistration, recordAad } from '../protocol/vault/sealed.ts';
import type { OpenedRequest } from './channel.ts';
import { type CoreContext, Refusal } from './context.ts';
import { openLoginState, openPending, openSecrets } from './transitions.ts';

type Response = VaultResponse<VaultOp>;

const locked: Response = { outcome: Outcome.locked };
const noRecord: Response = { outcome: Outcome.noRecord };
const stale = (state: RecordState): Response => ({
  outcome: Outcome.stale,
  summary: RecordSummary.of(state),
});
const ok = (result: { serialize(): Uint8Array }): Response => ({ outcome: Outcome.ok, result }) as Response;

/** ke1Hash of a login-start body against `incarnation` (docs/PROTOCOL.md §7, §10: bound to the incarnation). */
export function ke1Hash(
  ctx: CoreContext,
  recordId: Uint8Array,
  incarnation: bigint,
  ke1: Uint8Array,
): Uint8Array {
  return ctx.platform.crypto.sha256(ke1Binding(ctx.config.fleetId, recordId, incarnation, ke1));
}

/** Decodes a request body; a malformed one is a refusal, not an unopenable frame. */
export function body<T>(what: () => T): T {
  try {
    return what();
  } catch (error) {
    if (error instanceof MalformedFrameError) throw new Refusal(RefusalReason.malformed, error.message);
    throw error;
  }
}

export async function answer(
  ctx: CoreContext,
  opened: OpenedRequest,
  state: RecordState | undefined,
): Promise<Response> {
  const recordId = opened.frame.recordId;
  switch (opened.frame.op) {
    case VaultOp.status:
      body(() => StatusRequest.deserialize(opened.body));
      return state === undefined ? noRecord : ok(RecordSummary.of(state));
    case VaultOp.registerStart:
      return registrationStep1(ctx, opened, state);
    case VaultOp.registerFinish: {
      const request = body(() => RegisterFinishRequest.deserialize(opened.body));
      if (state === undefined) return noRecord;
      if (state.incarnation !== request.targetVersion || state.status !== RecordStatus.active)
        return stale(state);
      // The certified incarnation must be the one this request made: same drawn credential id.
      const pending = await openPending(ctx, recordId, request.pendingBlob);
      const secrets = await openSecrets(ctx, state);
      const mine = ctx.platform.crypto.timingSafeEqual(secrets.credentialId, pending.credentialId);
      secrets.authKey.fill(0);
      return mine ? ok(RecordSummary.of(state)) : stale(state);
    }
    case VaultOp.loginStart:
      return loginStart(ctx, opened, state);
    case VaultOp.loginFinish:
      return loginFinish(ctx, opened, state);
    case VaultOp.delete: {
      const request = body(() => DeleteRequest.deserialize(opened.body));
      if (state === undefined) return noRecord;
      if (state.status === RecordStatus.deleted && state.version === request.fromVersion + 1n)
        return ok(RecordSummary.of(state));
      return state.status === RecordStatus.locked ? locked : stale(state);
    }
  }
}

/**
 * Registration step 1 (docs/PROTOCOL.md §10 "Enable"): draws the credential id and evaluates the OPRF under it
 * exactly once. No identifier from a request or blob is ever used here.
 */
async function registrationStep1(
  ctx: CoreContext,
  opened: OpenedRequest,
  state: RecordState | undefined,
): Promise<Response> {
  const request = body(() => RegisterStartRequest.deserialize(opened.body));
  if (request.kind === RegistrationKind.create && state?.status === RecordStatus.active) {
    return { outcome: Outcome.refused, reason: RefusalReason.badTransition };
  }
  if (request.kind === RegistrationKind.change) {
    if (state === undefined || state.status === RecordStatus.deleted) return noRecord;
    if (state.status === RecordStatus.locked) return locked;
  }
  const targetVersion = state === undefined ? 1n : state.version + 1n;
  const { crypto, keystore } = ctx.platform;
  const credentialId = crypto.randomBytes(32);
  const registrationResponse = ctx.opaque.registrationResponse(credentialId, request.registrationRequest);
  const pending = new PendingRegistration(
    credentialId,
    request.kind,
    targetVersion,
    crypto.sha256(request.registrationRequest),
    crypto.sha256(registrationResponse),
  );
  const aad = recordAad(Labels.pendingRegistration, ctx.config.fleetId, opened.frame.recordId);
  const pendingBlob = await keystore.seal(pending.serialize(), aad);
  credentialId.fill(0);
  return ok(new RegisterStartResult(targetVersion, registrationResponse, pendingBlob));
}

/** KE2 only for a KE1 whose hash a certified state of this incarnation carries (docs/PROTOCOL.md §10 "Recover"). */
async function loginStart(
  ctx: CoreContext,
  opened: OpenedRequest,
  state: RecordState | undefined,
): Promise<Response> {
  const request = body(() => LoginStartRequest.deserialize(opened.body));
  if (state === undefined || state.status === RecordStatus.deleted) return noRecord;
  if (state.status === RecordStatus.locked) return locked;
  if (state.incarnation !== request.incarnation) return stale(state);
  const recordId = opened.frame.recordId;
  const hash = ke1Hash(ctx, recordId, state.incarnation, request.ke1);
  if (
    state.ke1Hash === undefined ||
    state.ke1PaidAt === undefined ||
    !ctx.platform.crypto.timingSafeEqual(hash, state.ke1Hash)
  ) {
    // Not paid for by this state: no KE2 (a host that withholds the spend's certificate gets nothing).
    return state.guessesLeft === 0 ? locked : stale(state);
  }
  return ok(await loginResult(ctx, recordId, state, state.ke1PaidAt, request.ke1, hash));
}

/** KE2 and the sealed login state for `ke1` against the spend `state` (from its sealed part). */
async function loginResult(
  ctx: CoreContext,
  recordId: Uint8Array,
  state: RecordState,
  ke1PaidAt: bigint,
  ke1: Uint8Array,
  hash: Uint8Array,
): Promise<LoginStartResult> {
  const secrets = await openSecrets(ctx, state);
  const { ke2, serverLoginState } = ctx.opaque.startLogin(
    recordId,
    secrets.credentialId,
    secrets.registrationRecord,
    ke1,
  );
  secrets.authKey.fill(0);
  const login = new LoginState(state.incarnation, ke1PaidAt, hash, serverLoginState);
  const loginBlob = await ctx.platform.keystore.seal(
    login.serialize(),
    recordAad(Labels.loginState, ctx.config.fleetId, recordId),
  );
  serverLoginState.fill(0);
  return new LoginStartResult(RecordSummary.of(state), ke2, loginBlob);
}

/**
 * The wrapped K goes back only from a certified refund of this very spend (lastSuccess = its
 * ke1PaidAt), sealed under the OPAQUE session key this core derives itself from KE3.
 */
async function loginFinish(
  ctx: CoreContext,
  opened: OpenedRequest,
  state: RecordState | undefined,
): Promise<Response> {
  const request = body(() => LoginFinishRequest.deserialize(opened.body));
  if (state === undefined || state.status === RecordStatus.deleted) return noRecord;
  if (state.status === RecordStatus.locked) return locked;
  const recordId = opened.frame.recordId;
  const login = await openLoginState(ctx, recordId, request.loginBlob);
  if (login.incarnation !== state.incarnation || state.lastSuccess !== login.ke1PaidAt) return stale(state);
  const sessionKey = ctx.opaque.finishLogin(recordId, login.serverLoginState, request.ke3);
  login.serverLoginState.fill(0);
  if (sessionKey === undefined) return { outcome: Outcome.refused, reason: RefusalReason.badEvidence };
  const { crypto } = ctx.platform;
  const secrets = await openSecrets(ctx, state);
  const summary = RecordSummary.of(state);
  const key = crypto.hkdfSha256(sessionKey, new Uint8Array(0), Labels.recoverResponse, 32);
  const nonce = crypto.randomBytes(12);
  const recovery = crypto.aes256GcmSeal(
    key,
    nonce,
    new Recovery(secrets.wrappedK, state.changeProof).serialize(),
    summary.serialize(),
  );
  key.fill(0);
  sessionKey.fill(0);
  secrets.authKey.fill(0);
  return ok(new LoginFinishResult(summary, nonce, recovery));
}
