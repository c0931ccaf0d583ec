// The core's end of the client channel (docs/PROTOCOL.md §5 "Frames"): opens an
// HPKE-sealed request frame and seals the response as RFC 9458 section 4.4 does, with our label.
import { bytesEqual, concat, MalformedFrameError } from '../protocol/vault/bytes.ts';
import {
  ErrorCode,
  serializeResponseFrame,
  type VaultOp,
  VaultRequestFrame,
} from '../protocol/vault/frames.ts';
import { Labels, RESPONSE_NONCE_LENGTH } from '../protocol/vault/labels.ts';
import { serializeResponse, type VaultResponse } from '../protocol/vault/responses.ts';
import type { CoreContext } from './context.ts';

/** A client request the core opened: its header, body, and the secret its response is sealed with. */
export interface OpenedRequest {
  readonly frame: VaultRequestFrame;
  readonly body: Uint8Array;
  /**
   * ctx.export("strongroom/v1/vault-response", 32). Each request the core handles opens its frame
   * itself and owns this copy alone: the handler zeroes it once the response is sealed (or at
   * once, for evidence, which is never answered). No cache ever holds it (docs/PROTOCOL.md §8).
   */
  readonly responseSecret: Uint8Array;
}

/** Thrown when a frame does not decode or open; the answer is an unsealed "unopenable" error. */
export class UnopenableFrame extends Error {}

export async function openRequest(ctx: CoreContext, bytes: Uint8Array): Promise<OpenedRequest> {
  let frame: VaultRequestFrame;
  try {
    frame = VaultRequestFrame.deserialize(bytes);
  } catch (error) {
    if (error instanceof MalformedFrameError) throw new UnopenableFrame(error.message);
    throw error;
  }
  if (!bytesEqual(frame.fleetId, ctx.config.fleetId))
    throw new UnopenableFrame('request is for another fleet');
  try {
    const recipient = await ctx.platform.hpke.createRecipientContext({
      recipientKey: ctx.hpkeKey,
      enc: frame.enc.slice().buffer,
      info: Labels.request.slice().buffer,
    });
    const body = new Uint8Array(
      await recipient.open(frame.ciphertext.slice().buffer, frame.header().buffer as ArrayBuffer),
    );
    const responseSecret = new Uint8Array(await recipient.export(Labels.response.slice().buffer, 32));
    return { frame, body, responseSecret };
  } catch {
    // No detail: whether the key, the tag or the aad failed is nothing a sender may learn.
    throw new UnopenableFrame('request did not open');
  }
}

/** Seals `response` to the request's context: key, nonce = HKDF(secret, enc || responseNonce). */
export function sealResponse<K extends VaultOp>(
  ctx: CoreContext,
  opened: OpenedRequest,
  response: VaultResponse<K>,
): Uint8Array {
  const { crypto } = ctx.platform;
  const responseNonce = crypto.randomBytes(RESPONSE_NONCE_LENGTH);
  const salt = concat(opened.frame.enc, responseNonce);
  const key = crypto.hkdfSha256(opened.responseSecret, salt, Labels.responseKey, 32);
  const nonce = crypto.hkdfSha256(opened.responseSecret, salt, Labels.responseNonce, 12);
  const ciphertext = crypto.aes256GcmSeal(key, nonce, serializeResponse(response), new Uint8Array(0));
  key.fill(0);
  return serializeResponseFrame({ kind: 'sealed', responseNonce, ciphertext });
}

export function errorFrame(code: ErrorCode): Uint8Array {
  return serializeResponseFrame({ kind: 'error', code });
}

export { ErrorCode };
