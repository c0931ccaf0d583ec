// Relaying sealed vault frames through ChatD (docs/PROTOCOL.md "ChatD: Vault relay";
// docs/CHATD.md "Vault relay"). The frame is HPKE-sealed to the fleet key; ChatD reads only its clear header (fleet id
// and record id, src/protocol/vault) to bind the record to the account, and forwards it unchanged.
// The request id of the envelope correlates the answer.
//
//   VaultRequest  (c→s, 0x20): frame (1..65536 bytes, the rest of the body)
//   VaultResponse (s→c, 0x21): frame (1..65536 bytes, the rest of the body)
import { type ChatdRequest, MAX_VAULT_FRAME_BYTES } from './message.ts';
import { check } from './wire.ts';

function checkFrame(what: string, frame: Uint8Array): Uint8Array {
  check(
    frame instanceof Uint8Array && frame.length >= 1 && frame.length <= MAX_VAULT_FRAME_BYTES,
    what,
    `vault frame must be 1-${MAX_VAULT_FRAME_BYTES} bytes`,
  );
  return Uint8Array.from(frame);
}

/** One sealed vault request frame, opaque to ChatD but for its clear header. */
export class VaultRequest implements ChatdRequest<VaultResponse> {
  static readonly TYPE = 0x20;
  readonly type = VaultRequest.TYPE;
  get responseType() {
    return VaultResponse;
  }
  readonly frame: Uint8Array;

  constructor(frame: Uint8Array) {
    this.frame = checkFrame('vault request', frame);
  }

  serialize(): Uint8Array {
    return Uint8Array.from(this.frame);
  }

  static deserialize(body: Uint8Array): VaultRequest {
    return new VaultRequest(body);
  }
}

/** The vault node's sealed answer, returned unchanged. */
export class VaultResponse {
  static readonly TYPE = 0x21;
  readonly type = VaultResponse.TYPE;
  readonly frame: Uint8Array;

  constructor(frame: Uint8Array) {
    this.frame = checkFrame('vault response', frame);
  }

  serialize(): Uint8Array {
    return Uint8Array.from(this.frame);
  }

  static deserialize(body: Uint8Array): VaultResponse {
    return new VaultResponse(body);
  }
}
