// A malicious vault host for tests: it talks to the cores directly with crafted CoreRequests,
// builds its own client frames (the fleet key is public) and reads and writes the store at will.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as opaque from '@serenity-kit/opaque';
import { sealRequest } from '../../../src/client/vault/channel.ts';
import { NvramFile } from '../../../src/hsm-platform/nvram.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { fromBase64Url, toBase64Url, toHex } from '../../../src/protocol/vault/bytes.ts';
import {
  type CoreRequest,
  type CoreResponse,
  deserializeCoreResponse,
  serializeCoreRequest,
} from '../../../src/protocol/vault/core-rpc.ts';
import { VaultOp } from '../../../src/protocol/vault/frames.ts';
import type { Intent } from '../../../src/protocol/vault/intent.ts';
import { AUTH_KEY_LENGTH, WRAPPED_KEY_LENGTH } from '../../../src/protocol/vault/labels.ts';
import { Certificate, CertifiedState, type Signature } from '../../../src/protocol/vault/record.ts';
import {
  LoginStartRequest,
  RegisterFinishRequest,
  RegisterStartRequest,
  RegistrationKind,
} from '../../../src/protocol/vault/requests.ts';
import {
  Outcome,
  type RegisterStartResult,
  type VaultResponse,
} from '../../../src/protocol/vault/responses.ts';
import { InProcessPeer } from '../../../src/vault-host/core-adapter.ts';
import type { EndorsementPeer } from '../../../src/vault-host/peer.ts';
import { TEST_ARGON2ID, type TestFleet } from '../../vault-host/helpers/fleet.ts';

export class MaliciousHost {
  constructor(readonly t: TestFleet) {}

  get peers(): readonly EndorsementPeer[] {
    return this.t.fleet.peers;
  }

  async ask(peer: EndorsementPeer, request: CoreRequest): Promise<CoreResponse> {
    return deserializeCoreResponse(await peer.endorse(serializeCoreRequest(request)));
  }

  /** What every node answers to an endorse request. */
  async endorseAll(intent: Intent): Promise<CoreResponse[]> {
    return Promise.all(this.peers.map((peer) => this.ask(peer, { type: 'endorse', intent })));
  }

  /** Certifies `intent` with every node's endorsement (asserting they all endorse) and commits it. */
  async certify(intent: Intent, options: { commit?: boolean } = {}): Promise<CertifiedState> {
    const responses = await this.endorseAll(intent);
    const signatures: Signature[] = responses.map((r) => {
      assert.equal(r.type, 'endorsement', `expected an endorsement, got ${JSON.stringify(r)}`);
      return r as Signature & { type: 'endorsement' };
    });
    const certified = new CertifiedState(
      intent.to,
      new Certificate(signatures.map(({ nodeIndex, signature }) => ({ nodeIndex, signature }))),
    );
    if (options.commit ?? true) {
      const slot = await this.t.store.get(intent.to.recordId);
      assert.ok(
        await this.t.store.compareAndSet(intent.to.recordId, slot?.revision, {
          committed: certified.serialize(),
        }),
      );
    }
    return certified;
  }

  async committed(recordId: Uint8Array): Promise<CertifiedState | undefined> {
    const slot = await this.t.store.get(recordId);
    return slot?.committed === undefined ? undefined : CertifiedState.deserialize(slot.committed);
  }

  /** A frame the host makes as if it were a client (anyone can seal to the public fleet key). */
  seal<K extends VaultOp>(op: K, recordId: Uint8Array, body: Uint8Array) {
    return sealRequest(this.t.publicInfo, op, recordId, body);
  }

  /** Asks node `index` to propose for a client frame and returns the intent (asserting there is one). */
  async propose(frame: Uint8Array, current: CertifiedState | undefined, index = 0): Promise<Intent> {
    const response = await this.ask(this.peers[index]!, {
      type: 'propose',
      action: 1,
      clientFrame: frame,
      current,
    });
    assert.equal(response.type, 'proposal', `expected a proposal, got ${response.type}`);
    return (response as { intent: Intent }).intent;
  }

  /** Asks a node (by index, or a peer) to answer a client frame from `current`; returns the response frame. */
  async answer(
    frame: Uint8Array,
    current: CertifiedState | undefined,
    node: number | EndorsementPeer = 0,
  ): Promise<Uint8Array> {
    const peer = typeof node === 'number' ? this.peers[node]! : node;
    const response = await this.ask(peer, { type: 'answer', clientFrame: frame, current });
    assert.equal(response.type, 'client-response');
    return (response as { frame: Uint8Array }).frame;
  }

  /**
   * Registration step 1 for `password` as a client would send it (the host sealing its own
   * frame), answered by node 0 from `shown`; plus the client state to finish it with.
   */
  async registerStart(
    recordId: Uint8Array,
    kind: RegistrationKind,
    shown: CertifiedState | undefined,
    password: string,
  ) {
    await opaque.ready;
    const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({ password });
    const body = new RegisterStartRequest({ kind, registrationRequest: fromBase64Url(registrationRequest) });
    const request = await this.seal(VaultOp.registerStart, recordId, body.serialize());
    const result = okResult(
      await request.open(await this.answer(request.frame, shown)),
    ) as RegisterStartResult;
    return { clientRegistrationState, result };
  }

  /**
   * A register-finish frame whose registration record is finished from `registrationResponse`
   * (and names its hash) but carries `pendingBlob`: the host's own registration, assembled as it
   * likes. K and auth_key are random; the proof MAC is a create's (zeros).
   */
  registerFinish(
    recordId: Uint8Array,
    fields: {
      kind: RegistrationKind;
      targetVersion: bigint;
      clientRegistrationState: string;
      registrationResponse: Uint8Array;
      pendingBlob: Uint8Array;
      password: string;
      limit: number;
    },
  ) {
    const finished = opaque.client.finishRegistration({
      clientRegistrationState: fields.clientRegistrationState,
      registrationResponse: toBase64Url(fields.registrationResponse),
      password: fields.password,
      identifiers: { client: toHex(recordId), server: toHex(this.t.publicInfo.fleetId) },
      keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
    });
    const body = new RegisterFinishRequest({
      kind: fields.kind,
      targetVersion: fields.targetVersion,
      registrationResponseHash: nodePrimitives.sha256(fields.registrationResponse),
      limit: fields.limit,
      registrationRecord: fromBase64Url(finished.registrationRecord),
      wrappedK: nodePrimitives.randomBytes(WRAPPED_KEY_LENGTH),
      authKey: nodePrimitives.randomBytes(AUTH_KEY_LENGTH),
      proofMac: new Uint8Array(32),
      pendingBlob: fields.pendingBlob,
    });
    return this.seal(VaultOp.registerFinish, recordId, body.serialize());
  }

  /**
   * The host's own create of `recordId` (password "host password", limit 5): step 1 answered from
   * `shown`, and `finish` for its step-2 frame at `targetVersion` (default: the version step 1 named).
   */
  async registerOwn(recordId: Uint8Array, shown: CertifiedState | undefined) {
    const started = await this.registerStart(recordId, RegistrationKind.create, shown, 'host password');
    const finish = (targetVersion = started.result.targetVersion) =>
      this.registerFinish(recordId, {
        kind: RegistrationKind.create,
        targetVersion,
        clientRegistrationState: started.clientRegistrationState,
        registrationResponse: started.result.registrationResponse,
        pendingBlob: started.result.pendingBlob,
        password: 'host password',
        limit: 5,
      });
    return { started, finish };
  }

  /**
   * The cores of nodes `indexes` restarted over empty NVRAM files: a host that replaced their
   * mark files, which it can wherever the marks are a file on its disk (docs/SECURITY.md). Those
   * cores have endorsed nothing, so with a quorum of them the host can certify a second state at
   * a version the honest cores already endorsed: a fork, which every rule below the marks must
   * still make useless.
   */
  async forgetfulCores(indexes: readonly number[]) {
    const nvrams = indexes.map(
      (index) =>
        new NvramFile(join(this.t.dir, `emptied-${index}-${toHex(nodePrimitives.randomBytes(4))}.nvram`)),
    );
    const peers = await Promise.all(
      indexes.map((index, i) =>
        InProcessPeer.start({ ...this.t.platforms[index]!, nvram: nvrams[i]! }, this.t.ceremony.sealedConfig),
      ),
    );
    const certify = async (intent: Intent) => {
      const signatures = await Promise.all(
        peers.map(async (peer) => {
          const response = await this.ask(peer, { type: 'endorse', intent });
          assert.equal(
            response.type,
            'endorsement',
            `expected an endorsement, got ${JSON.stringify(response)}`,
          );
          const { nodeIndex, signature } = response as Signature & { type: 'endorsement' };
          return { nodeIndex, signature };
        }),
      );
      return new CertifiedState(intent.to, new Certificate(signatures));
    };
    const close = () => {
      for (const peer of peers) peer.stop();
      for (const nvram of nvrams) nvram.close();
    };
    return { certify, close };
  }

  /** A login-start frame with a fresh KE1 for `password`, plus the client state to finish it. */
  async loginStart(recordId: Uint8Array, incarnation: bigint, password: string) {
    await opaque.ready;
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password });
    const ke1 = fromBase64Url(startLoginRequest);
    const request = await this.seal(
      VaultOp.loginStart,
      recordId,
      new LoginStartRequest({ incarnation, ke1 }).serialize(),
    );
    return { request, ke1, clientLoginState };
  }
}

/** The client's OPAQUE login finish with `password` against `ke2` (undefined if it does not verify). */
export function finishLogin(
  t: TestFleet,
  recordId: Uint8Array,
  clientLoginState: string,
  ke2: Uint8Array,
  password: string,
) {
  return opaque.client.finishLogin({
    clientLoginState,
    loginResponse: toBase64Url(ke2),
    password,
    identifiers: { client: toHex(recordId), server: toHex(t.publicInfo.fleetId) },
    keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
  });
}

export function okResult<K extends VaultOp>(response: VaultResponse<K>) {
  assert.equal(response.outcome, Outcome.ok, `expected ok, got outcome ${response.outcome}`);
  return (response as { result: unknown }).result;
}
