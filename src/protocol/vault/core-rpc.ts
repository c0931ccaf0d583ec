// Messages between the untrusted vault host and a node's core (docs/PROTOCOL.md §8).
// These are also the bytes an EndorsementPeer carries between node processes.
//
// CoreRequest:  type u8 ||
//   1 propose:  action u8 (1 client frame, 2 lock) || clientFrame (u32 length; empty for lock)
//               || current (u32 length; CertifiedState, empty = none shown)
//   2 endorse:  Intent
//   3 answer:   clientFrame (u32 length) || current (u32 length; CertifiedState, empty = none)
//   (4 and 5 were `prepare` and `check`, withdrawn: docs/PROTOCOL.md §14. They decode as malformed.)
// CoreResponse: type u8 ||
//   1 proposal:       Intent             write it as the pending intent, then collect endorsements
//   2 no-transition:  (empty)            nothing to certify: ask for the answer now
//   3 endorsement:    nodeIndex u8 || signature (64)
//   4 client-response: VaultResponseFrame bytes, for the host to relay unchanged
//   5 refused:        reason u8 (RefusalReason)
import { checkInt, checkSize, concat, MalformedFrameError, prefixed, Reader, u8 } from './bytes.ts';
import { Intent } from './intent.ts';
import { SIGNATURE_LENGTH } from './labels.ts';
import { CertifiedState } from './record.ts';
import type { RefusalReason } from './responses.ts';

export enum ProposeAction {
  client = 1,
  lock = 2,
}

export type CoreRequest =
  | {
      readonly type: 'propose';
      readonly action: ProposeAction;
      readonly clientFrame: Uint8Array;
      readonly current: CertifiedState | undefined;
    }
  | { readonly type: 'endorse'; readonly intent: Intent }
  | {
      readonly type: 'answer';
      readonly clientFrame: Uint8Array;
      readonly current: CertifiedState | undefined;
    };

export type CoreResponse =
  | { readonly type: 'proposal'; readonly intent: Intent }
  | { readonly type: 'no-transition' }
  | { readonly type: 'endorsement'; readonly nodeIndex: number; readonly signature: Uint8Array }
  | { readonly type: 'client-response'; readonly frame: Uint8Array }
  | { readonly type: 'refused'; readonly reason: RefusalReason };

const empty = new Uint8Array(0);
const optional = (state: CertifiedState | undefined) => prefixed(4, state?.serialize() ?? empty);
const readOptional = (bytes: Uint8Array) =>
  bytes.length === 0 ? undefined : CertifiedState.deserialize(bytes);

export function serializeCoreRequest(request: CoreRequest): Uint8Array {
  switch (request.type) {
    case 'propose':
      return concat(u8(1), u8(request.action), prefixed(4, request.clientFrame), optional(request.current));
    case 'endorse':
      return concat(u8(2), request.intent.serialize());
    case 'answer':
      return concat(u8(3), prefixed(4, request.clientFrame), optional(request.current));
  }
}

export function deserializeCoreRequest(bytes: Uint8Array): CoreRequest {
  const r = new Reader(bytes, 'core request');
  const type = r.u8('type');
  if (type === 2) return { type: 'endorse', intent: Intent.deserialize(r.rest()) };
  if (type === 1) {
    const action = checkInt('propose action', r.u8('action'), 1, 2) as ProposeAction;
    const clientFrame = r.prefixed(4, 'clientFrame');
    const current = readOptional(r.prefixed(4, 'current'));
    r.end();
    return { type: 'propose', action, clientFrame, current };
  }
  if (type === 3) {
    const clientFrame = r.prefixed(4, 'clientFrame');
    const current = readOptional(r.prefixed(4, 'current'));
    r.end();
    return { type: 'answer', clientFrame, current };
  }
  throw new MalformedFrameError(`core request: unknown type ${type}`);
}

export function serializeCoreResponse(response: CoreResponse): Uint8Array {
  switch (response.type) {
    case 'proposal':
      return concat(u8(1), response.intent.serialize());
    case 'no-transition':
      return u8(2);
    case 'endorsement':
      return concat(
        u8(3),
        u8(checkInt('nodeIndex', response.nodeIndex, 0, 254)),
        checkSize('signature', response.signature, SIGNATURE_LENGTH),
      );
    case 'client-response':
      return concat(u8(4), response.frame);
    case 'refused':
      return concat(u8(5), u8(response.reason));
  }
}

export function deserializeCoreResponse(bytes: Uint8Array): CoreResponse {
  const r = new Reader(bytes, 'core response');
  const type = r.u8('type');
  let response: CoreResponse;
  switch (type) {
    case 1:
      return { type: 'proposal', intent: Intent.deserialize(r.rest()) };
    case 2:
      response = { type: 'no-transition' };
      break;
    case 3:
      response = {
        type: 'endorsement',
        nodeIndex: r.u8('nodeIndex'),
        signature: r.bytes(SIGNATURE_LENGTH, 'signature'),
      };
      break;
    case 4:
      return { type: 'client-response', frame: r.rest() };
    case 5:
      response = { type: 'refused', reason: checkInt('refusal reason', r.u8('reason'), 1, 8) };
      break;
    default:
      throw new MalformedFrameError(`core response: unknown type ${type}`);
  }
  r.end();
  return response;
}
