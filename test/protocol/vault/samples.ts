// One sample of every vault message, with fixed bytes, for the round-trip, property and vector
// tests (docs/PROTOCOL.md §2 "Encoding": every message re-encodes to its bytes).
import assert from 'node:assert/strict';
import {
  deserializeCoreRequest,
  deserializeCoreResponse,
  serializeCoreRequest,
  serializeCoreResponse,
} from '../../../src/protocol/vault/core-rpc.ts';
import {
  deserializeResponseFrame,
  ErrorCode,
  serializeResponseFrame,
  VaultOp,
  VaultRequestFrame,
} from '../../../src/protocol/vault/frames.ts';
import { Intent, TransitionKind } from '../../../src/protocol/vault/intent.ts';
import {
  Certificate,
  CertifiedState,
  ChangeProof,
  NodeMark,
  RecordState,
  RecordStatus,
} from '../../../src/protocol/vault/record.ts';
import {
  DeleteRequest,
  LoginFinishRequest,
  LoginStartRequest,
  RegisterFinishRequest,
  RegisterStartRequest,
  RegistrationKind,
  StatusRequest,
} from '../../../src/protocol/vault/requests.ts';
import {
  deserializeResponse,
  LoginFinishResult,
  LoginStartResult,
  Outcome,
  RecordSummary,
  Recovery,
  RefusalReason,
  RegisterStartResult,
  serializeResponse,
} from '../../../src/protocol/vault/responses.ts';
import { LoginState, PendingRegistration, SealedSecrets } from '../../../src/protocol/vault/sealed.ts';

/** Deterministic filler: `length` bytes counting up from `start`. */
export const fill = (length: number, start = 1) => Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);

export const recordId = fill(16, 0xa0);
export const fleetId = fill(16, 0x10);
export const changeProof = new ChangeProof({
  fromIncarnation: 1n,
  fromVersion: 6n,
  contentHash: fill(32, 0x30),
  mac: fill(32, 0x50),
});
export const state = new RecordState({
  recordId,
  version: 7n,
  incarnation: 7n,
  status: RecordStatus.active,
  limit: 10,
  guessesLeft: 9,
  lastSuccess: 7n,
  ke1Hash: fill(32, 0x70),
  ke1PaidAt: 8n,
  changeProof,
  sealed: fill(40, 0x90),
});
export const certified = new CertifiedState(
  state,
  new Certificate([
    { nodeIndex: 0, signature: fill(64, 1) },
    { nodeIndex: 2, signature: fill(64, 2) },
  ]),
);
export const summary = RecordSummary.of(state);

/** [name, bytes, decode] for every message type. */
export const samples: Array<
  [string, Uint8Array, (bytes: Uint8Array) => { serialize(): Uint8Array } | Uint8Array]
> = [
  [
    'VaultRequestFrame',
    new VaultRequestFrame({
      op: VaultOp.loginStart,
      fleetId,
      recordId,
      enc: fill(32, 3),
      ciphertext: fill(120, 4),
    }).serialize(),
    VaultRequestFrame.deserialize,
  ],
  [
    'VaultResponseFrame sealed',
    serializeResponseFrame({ kind: 'sealed', responseNonce: fill(32), ciphertext: fill(40) }),
    (b) => serializeResponseFrame(deserializeResponseFrame(b)),
  ],
  [
    'VaultResponseFrame error',
    serializeResponseFrame({ kind: 'error', code: ErrorCode.unavailable }),
    (b) => serializeResponseFrame(deserializeResponseFrame(b)),
  ],
  ['StatusRequest', new StatusRequest().serialize(), StatusRequest.deserialize],
  [
    'RegisterStartRequest',
    new RegisterStartRequest({ kind: RegistrationKind.change, registrationRequest: fill(32) }).serialize(),
    RegisterStartRequest.deserialize,
  ],
  [
    'RegisterFinishRequest',
    new RegisterFinishRequest({
      kind: RegistrationKind.create,
      targetVersion: 1n,
      registrationResponseHash: fill(32),
      limit: 10,
      registrationRecord: fill(192),
      wrappedK: fill(60),
      authKey: fill(32),
      proofMac: new Uint8Array(32),
      pendingBlob: fill(100),
    }).serialize(),
    RegisterFinishRequest.deserialize,
  ],
  [
    'LoginStartRequest',
    new LoginStartRequest({ incarnation: 7n, ke1: fill(96) }).serialize(),
    LoginStartRequest.deserialize,
  ],
  [
    'LoginFinishRequest',
    new LoginFinishRequest({ ke3: fill(64), loginBlob: fill(200) }).serialize(),
    LoginFinishRequest.deserialize,
  ],
  [
    'DeleteRequest',
    new DeleteRequest({ fromVersion: 9n, proofMac: fill(32) }).serialize(),
    DeleteRequest.deserialize,
  ],
  [
    'StatusResult',
    serializeResponse({ outcome: Outcome.ok, result: summary }),
    (b) => serializeResponse(deserializeResponse(VaultOp.status, b)),
  ],
  [
    'RegisterStartResult',
    serializeResponse({ outcome: Outcome.ok, result: new RegisterStartResult(8n, fill(64), fill(90)) }),
    (b) => serializeResponse(deserializeResponse(VaultOp.registerStart, b)),
  ],
  [
    'LoginStartResult',
    serializeResponse({ outcome: Outcome.ok, result: new LoginStartResult(summary, fill(320), fill(200)) }),
    (b) => serializeResponse(deserializeResponse(VaultOp.loginStart, b)),
  ],
  [
    'LoginFinishResult',
    serializeResponse({ outcome: Outcome.ok, result: new LoginFinishResult(summary, fill(12), fill(150)) }),
    (b) => serializeResponse(deserializeResponse(VaultOp.loginFinish, b)),
  ],
  [
    'stale response',
    serializeResponse({ outcome: Outcome.stale, summary }),
    (b) => serializeResponse(deserializeResponse(VaultOp.delete, b)),
  ],
  [
    'refused response',
    serializeResponse({ outcome: Outcome.refused, reason: RefusalReason.badProof }),
    (b) => serializeResponse(deserializeResponse(VaultOp.delete, b)),
  ],
  ['Recovery', new Recovery(fill(60), changeProof).serialize(), Recovery.deserialize],
  ['RecordState', state.serialize(), RecordState.deserialize],
  ['CertifiedState', certified.serialize(), CertifiedState.deserialize],
  ['NodeMark', new NodeMark(state, fill(64)).serialize(), NodeMark.deserialize],
  ['NodeMark with from-state', new NodeMark(state, fill(64), certified).serialize(), NodeMark.deserialize],
  [
    'Intent',
    new Intent({
      kind: TransitionKind.spend,
      from: certified,
      to: state.with({ version: 8n }),
      evidence: new Uint8Array(0),
    }).serialize(),
    Intent.deserialize,
  ],
  [
    'SealedSecrets',
    new SealedSecrets(fill(32), fill(192), fill(60), fill(32)).serialize(),
    SealedSecrets.deserialize,
  ],
  [
    'PendingRegistration',
    new PendingRegistration(fill(32), RegistrationKind.create, 1n, fill(32), fill(32)).serialize(),
    PendingRegistration.deserialize,
  ],
  ['LoginState', new LoginState(7n, 8n, fill(32), fill(128)).serialize(), LoginState.deserialize],
  [
    'CoreRequest propose',
    serializeCoreRequest({ type: 'propose', action: 1, clientFrame: fill(90), current: certified }),
    (b) => serializeCoreRequest(deserializeCoreRequest(b)),
  ],
  [
    'CoreRequest answer',
    serializeCoreRequest({ type: 'answer', clientFrame: fill(90), current: undefined }),
    (b) => serializeCoreRequest(deserializeCoreRequest(b)),
  ],
  [
    'CoreResponse endorsement',
    serializeCoreResponse({ type: 'endorsement', nodeIndex: 2, signature: fill(64) }),
    (b) => serializeCoreResponse(deserializeCoreResponse(b)),
  ],
  [
    'CoreResponse refused',
    serializeCoreResponse({ type: 'refused', reason: RefusalReason.conflict }),
    (b) => serializeCoreResponse(deserializeCoreResponse(b)),
  ],
];

/** Decodes `bytes` and re-encodes it; the result must be the same bytes (no malleability). */
export function testSerialize(
  decode: (bytes: Uint8Array) => { serialize(): Uint8Array } | Uint8Array,
  bytes: Uint8Array,
): void {
  const decoded = decode(bytes);
  const again = decoded instanceof Uint8Array ? decoded : decoded.serialize();
  assert.deepEqual(again, bytes);
}
