// A malicious vault host for tests: it talks to the cores directly with crafted CoreRequests,
// builds its own client frames (the fleet key is public) and reads and writes the store at will.
import assert from 'node:assert/strict';
import * as opaque from '@serenity-kit/opaque';
import { sealRequest } from '../../../src/client/vault/channel.ts';
import { fromBase64Url } from '../../../src/protocol/vault/bytes.ts';
import {
  type CoreRequest,
  type CoreResponse,
  deserializeCoreResponse,
  serializeCoreRequest,
} from '../../../src/protocol/vault/core-rpc.ts';
import type { VaultOp } from '../../../src/protocol/vault/frames.ts';
import type { Intent } from '../../../src/protocol/vault/intent.ts';
import { Certificate, CertifiedState, type Signature } from '../../../src/protocol/vault/record.ts';
import { LoginStartRequest } from '../../../src/protocol/vault/requests.ts';
import { Outcome, type VaultResponse } from '../../../src/protocol/vault/responses.ts';
import type { EndorsementPeer } from '../../../src/vault-host/peer.ts';
import type { TestFleet } from '../../vault-host/helpers/fleet.ts';

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

  /** Asks node `index` to answer a client frame from `current`; returns the client response bytes. */
  async answer(frame: Uint8Array, current: CertifiedState | undefined, index = 0): Promise<Uint8Array> {
    const response = await this.ask(this.peers[index]!, { type: 'answer', clientFrame: frame, current });
    assert.equal(response.type, 'client-response');
    return (response as { frame: Uint8Array }).frame;
  }

  /** A login-start frame with a fresh KE1 for `password`, plus the client state to finish it. */
  async loginStart(recordId: Uint8Array, incarnation: bigint, password: string) {
    await opaque.ready;
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password });
    const ke1 = fromBase64Url(startLoginRequest);
    const request = await this.seal(
      4 as VaultOp.loginStart,
      recordId,
      new LoginStartRequest({ incarnation, ke1 }).serialize(),
    );
    return { request, ke1, clientLoginState };
  }
}

export function okResult<K extends VaultOp>(response: VaultResponse<K>) {
  assert.equal(response.outcome, Outcome.ok, `expected ok, got outcome ${response.outcome}`);
  return (response as { result: unknown }).result;
}
