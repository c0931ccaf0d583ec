// The trusted HSM core (docs/PROTOCOL.md §8, §10, §11): bytes in, bytes out through one entry
// point, handle(). Everything outside its memory arrives through the Platform.
import { FLEET_CONFIG_AAD, FleetConfig } from '../protocol/fleet.ts';
import { bytesEqual, label, MalformedFrameError } from '../protocol/vault/bytes.ts';
import {
  type CoreRequest,
  type CoreResponse,
  deserializeCoreRequest,
  ProposeAction,
  serializeCoreResponse,
} from '../protocol/vault/core-rpc.ts';
import { VaultOp } from '../protocol/vault/frames.ts';
import { Intent, TransitionKind } from '../protocol/vault/intent.ts';
import { Labels } from '../protocol/vault/labels.ts';
import {
  type CertifiedState,
  NodeMark,
  nodeMarkKey,
  type RecordState,
  RecordStatus,
} from '../protocol/vault/record.ts';
import {
  DeleteRequest,
  LoginFinishRequest,
  LoginStartRequest,
  RegisterFinishRequest,
  RegistrationKind,
} from '../protocol/vault/requests.ts';
import { Outcome, RefusalReason } from '../protocol/vault/responses.ts';
import { recordAad } from '../protocol/vault/sealed.ts';
import { answer, body, ke1Hash } from './answer.ts';
import { endorsementMessage, stateHash, verifyCertified } from './certificates.ts';
import { CertifiedMemo } from './certified-memo.ts';
import {
  ErrorCode,
  errorFrame,
  type OpenedRequest,
  openRequest,
  sealResponse,
  UnopenableFrame,
} from './channel.ts';
import { type CoreContext, Refusal } from './context.ts';
import { OpaqueServer, opaqueReady } from './opaque.ts';
import type { Platform } from './platform.ts';
import { deriveNext, type Next, openLoginState, openSecrets, PLACEHOLDER } from './transitions.ts';

/** Certified state hashes a core remembers (64 hex characters each; about 1 MiB): certified-memo.ts. */
const CERTIFIED_MEMO_SIZE = 8192;

export class CoreStartError extends Error {}

export class VaultCore {
  #stopped = false;
  private constructor(private readonly ctx: CoreContext) {}

  /**
   * Starts a core: opens the sealed fleet config with the keystore (a host cannot substitute
   * another membership, quorum or limit), checks its secrets match it, and finds its own node index
   * by its endorsement key.
   */
  static async start(platform: Platform, sealedConfig: Uint8Array): Promise<VaultCore> {
    await opaqueReady;
    let config: FleetConfig;
    try {
      config = FleetConfig.deserialize(await platform.keystore.open(sealedConfig, FLEET_CONFIG_AAD));
    } catch {
      throw new CoreStartError('the fleet configuration is not sealed by this fleet');
    }
    const endorsementKey = await platform.keystore.secret('endorsement-private-key');
    const probe = label('strongroom/v1/core-start-probe');
    const signature = platform.crypto.ed25519Sign(endorsementKey, probe);
    const me = config.members.find((m) =>
      platform.crypto.ed25519Verify(m.endorsementPublicKey, probe, signature),
    );
    if (me === undefined) throw new CoreStartError('this node is not a member of the sealed fleet config');
    const setupBytes = await platform.keystore.secret('opaque-server-setup');
    const opaque = new OpaqueServer(new TextDecoder().decode(setupBytes), config.fleetId);
    setupBytes.fill(0);
    if (!bytesEqual(opaque.publicKey(), config.opaqueServerPublicKey)) {
      throw new CoreStartError('the OPAQUE server setup does not match the fleet config');
    }
    const hpkeSecret = await platform.keystore.secret('hpke-private-key');
    const hpkeKey = await platform.hpke.kem.deserializePrivateKey(hpkeSecret.slice().buffer);
    const hpkePublic = await platform.hpke.kem.deserializePublicKey(config.hpkePublicKey.slice().buffer);
    hpkeSecret.fill(0);
    return new VaultCore({
      platform,
      config,
      nodeIndex: me.index,
      endorsementKey,
      hpkeKey: { privateKey: hpkeKey, publicKey: hpkePublic },
      opaque,
      certifiedMemo: new CertifiedMemo(CERTIFIED_MEMO_SIZE),
    });
  }

  get nodeIndex(): number {
    return this.ctx.nodeIndex;
  }

  get fleetConfig(): FleetConfig {
    return this.ctx.config;
  }

  /** The one entry point: an encoded CoreRequest in, an encoded CoreResponse out. */
  async handle(requestBytes: Uint8Array): Promise<Uint8Array> {
    if (this.#stopped) throw new Error('this core is stopped');
    let response: CoreResponse;
    try {
      response = await this.dispatch(deserializeCoreRequest(requestBytes));
    } catch (error) {
      if (error instanceof Refusal) response = { type: 'refused', reason: error.reason };
      else if (error instanceof MalformedFrameError)
        response = { type: 'refused', reason: RefusalReason.malformed };
      else throw error;
    }
    return serializeCoreResponse(response);
  }

  /** Ends the life of the endorsement key in this process. */
  stop(): void {
    this.#stopped = true;
    this.ctx.endorsementKey.fill(0);
  }

  /** One function per request (docs/PROTOCOL.md §8). */
  private dispatch(request: CoreRequest): Promise<CoreResponse> {
    switch (request.type) {
      case 'endorse':
        return this.endorse(request.intent);
      case 'propose':
        if (request.action === ProposeAction.lock) return this.proposeLock(request.current);
        return this.forClient(request.clientFrame, request.current, (opened, state) =>
          this.propose(opened, request.current, state),
        );
      case 'answer':
        return this.forClient(request.clientFrame, request.current, async (opened, state) => ({
          type: 'client-response',
          frame: sealResponse(this.ctx, opened, await answer(this.ctx, opened, state)),
        }));
    }
  }

  /**
   * Opens a client frame, verifies the state the host shows for its record, and runs `step` on
   * them. The opened request (and its response secret) belongs to this call alone and is zeroed
   * when it returns, whatever else the core is doing meanwhile (docs/PROTOCOL.md §8).
   */
  private async forClient(
    clientFrame: Uint8Array,
    current: CertifiedState | undefined,
    step: (opened: OpenedRequest, state: RecordState | undefined) => Promise<CoreResponse>,
  ): Promise<CoreResponse> {
    let opened: OpenedRequest;
    try {
      opened = await openRequest(this.ctx, clientFrame);
    } catch (error) {
      if (error instanceof UnopenableFrame)
        return { type: 'client-response', frame: errorFrame(ErrorCode.unopenable) };
      throw error;
    }
    try {
      const state =
        current === undefined ? undefined : verifyCertified(this.ctx, current, opened.frame.recordId);
      return await step(opened, state);
    } catch (error) {
      // A refused client request still gets a sealed answer, so the client can tell it from tampering.
      if (
        error instanceof Refusal &&
        error.reason !== RefusalReason.badCertificate &&
        error.reason !== RefusalReason.wrongRecord
      ) {
        return {
          type: 'client-response',
          frame: sealResponse(this.ctx, opened, { outcome: Outcome.refused, reason: error.reason }),
        };
      }
      throw error;
    } finally {
      opened.responseSecret.fill(0);
    }
  }

  /** A lock needs no client frame and no evidence: it is what any host may ask at any time. */
  private async proposeLock(current: CertifiedState | undefined): Promise<CoreResponse> {
    if (current === undefined) throw new Refusal(RefusalReason.badTransition, 'nothing to lock');
    const from = verifyCertified(this.ctx, current, current.state.recordId);
    if (from.status !== RecordStatus.active) return { type: 'no-transition' };
    const next = await deriveNext(this.ctx, TransitionKind.lock, from.recordId, from, new Uint8Array(0));
    return {
      type: 'proposal',
      intent: new Intent({
        kind: TransitionKind.lock,
        from: current,
        to: next.state,
        evidence: new Uint8Array(0),
      }),
    };
  }

  /** Which transition a client request calls for, built and checked here; or none (answer now). */
  private async propose(
    opened: OpenedRequest,
    current: CertifiedState | undefined,
    state: RecordState | undefined,
  ): Promise<CoreResponse> {
    const recordId = opened.frame.recordId;
    const frameBytes = opened.frame.serialize();
    const none: CoreResponse = { type: 'no-transition' };
    let kind: TransitionKind;
    let spendHash: Uint8Array | undefined;
    switch (opened.frame.op) {
      case VaultOp.status:
      case VaultOp.registerStart:
        return none;
      case VaultOp.registerFinish: {
        const request = body(() => RegisterFinishRequest.deserialize(opened.body));
        if (state !== undefined && state.version >= request.targetVersion) return none;
        kind = request.kind === RegistrationKind.create ? TransitionKind.create : TransitionKind.change;
        break;
      }
      case VaultOp.loginStart: {
        const request = body(() => LoginStartRequest.deserialize(opened.body));
        if (
          state === undefined ||
          state.status !== RecordStatus.active ||
          state.incarnation !== request.incarnation
        )
          return none;
        spendHash = ke1Hash(this.ctx, recordId, state.incarnation, request.ke1);
        const retry =
          state.ke1Hash !== undefined && this.ctx.platform.crypto.timingSafeEqual(spendHash, state.ke1Hash);
        if (retry || state.guessesLeft === 0) return none; // a retry of a paid KE1 spends nothing more
        kind = TransitionKind.spend;
        break;
      }
      case VaultOp.loginFinish: {
        const request = body(() => LoginFinishRequest.deserialize(opened.body));
        if (state === undefined || state.status !== RecordStatus.active || state.ke1Hash === undefined)
          return none;
        const login = await openLoginState(this.ctx, recordId, request.loginBlob);
        login.serverLoginState.fill(0);
        if (!this.ctx.platform.crypto.timingSafeEqual(login.ke1Hash, state.ke1Hash)) return none;
        kind = TransitionKind.refund;
        break;
      }
      case VaultOp.delete: {
        const request = body(() => DeleteRequest.deserialize(opened.body));
        if (
          state === undefined ||
          state.status !== RecordStatus.active ||
          state.version !== request.fromVersion
        )
          return none;
        kind = TransitionKind.delete;
        break;
      }
    }
    const evidence = kind === TransitionKind.spend ? new Uint8Array(0) : frameBytes;
    const next = await deriveNext(this.ctx, kind, recordId, state, evidence, spendHash);
    const to = next.secrets === undefined ? next.state : await this.sealSecrets(next);
    return { type: 'proposal', intent: new Intent({ kind, from: current, to, evidence }) };
  }

  private async sealSecrets(next: Next): Promise<RecordState> {
    const secrets = next.secrets!;
    const aad = recordAad(
      Labels.sealedRecord,
      this.ctx.config.fleetId,
      next.state.recordId,
      next.state.incarnation,
    );
    const sealed = await this.ctx.platform.keystore.seal(secrets.serialize(), aad);
    return next.state.with({ sealed });
  }

  /**
   * Endorses intent.to if the from-state is certified, the transition follows the table with
   * evidence this core checked itself, and its mark allows it (docs/PROTOCOL.md §11). The mark is
   * written before the signature leaves.
   */
  private async endorse(intent: Intent): Promise<CoreResponse> {
    const ctx = this.ctx;
    const recordId = intent.to.recordId;
    await this.checkEndorsable(intent);
    // From reading the mark to nvram.put (which writes before its first await) nothing awaits:
    // concurrent handle() calls cannot interleave between reading the mark and writing the new one.
    const markKey = nodeMarkKey(recordId);
    const markBytes = ctx.platform.nvram.get(markKey);
    const toHash = stateHash(ctx, intent.to);
    if (markBytes !== undefined) {
      const mark = NodeMark.deserialize(markBytes);
      if (mark.state.version > intent.to.version)
        throw new Refusal(RefusalReason.conflict, 'already endorsed a later state');
      if (mark.state.version === intent.to.version) {
        if (!bytesEqual(stateHash(ctx, mark.state), toHash))
          throw new Refusal(RefusalReason.conflict, 'already endorsed another state at this version');
        // A concurrent endorsement of this same state may still be making the mark durable: put
        // it again, so the signature leaves only once the mark is on disk.
        await ctx.platform.nvram.put(markKey, markBytes);
        return { type: 'endorsement', nodeIndex: ctx.nodeIndex, signature: mark.signature };
      }
    }
    const signature = ctx.platform.crypto.ed25519Sign(ctx.endorsementKey, endorsementMessage(ctx, intent.to));
    // The mark keeps the from-state's certificate: what `fleet repair` needs if the nodes move on
    // one by one past the last state a quorum still marks (docs/PROTOCOL.md §7, §9a).
    await ctx.platform.nvram.put(markKey, new NodeMark(intent.to, signature, intent.from).serialize());
    return { type: 'endorsement', nodeIndex: ctx.nodeIndex, signature };
  }

  /**
   * Every check endorse() makes before it looks at the mark: the from-state's certificate, the
   * transition table and the evidence, and that intent.to is exactly the state they lead to
   * (docs/PROTOCOL.md §11).
   */
  private async checkEndorsable(intent: Intent): Promise<void> {
    const ctx = this.ctx;
    const recordId = intent.to.recordId;
    const from = intent.from === undefined ? undefined : verifyCertified(ctx, intent.from, recordId);
    if (from === undefined && intent.kind !== TransitionKind.create) {
      throw new Refusal(RefusalReason.badTransition, 'only a create starts without a certified state');
    }
    const next = await deriveNext(ctx, intent.kind, recordId, from, intent.evidence, intent.to.ke1Hash);
    if (next.secrets === undefined) {
      if (!bytesEqual(next.state.serialize(), intent.to.serialize()))
        throw new Refusal(RefusalReason.badTransition, 'proposed state differs');
    } else {
      // The sealed part has a random nonce: compare what it holds, and the clear fields exactly.
      if (
        !bytesEqual(next.state.with({ sealed: intent.to.sealed }).serialize(), intent.to.serialize()) ||
        bytesEqual(intent.to.sealed, PLACEHOLDER)
      ) {
        throw new Refusal(RefusalReason.badTransition, 'proposed state differs');
      }
      const held = await openSecrets(ctx, intent.to);
      const same = ctx.platform.crypto.timingSafeEqual(held.serialize(), next.secrets.serialize());
      held.authKey.fill(0);
      if (!same) throw new Refusal(RefusalReason.badEvidence, 'sealed part does not hold the registration');
    }
  }
}
