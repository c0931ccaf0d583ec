// The client's end of the vault channel (docs/PROTOCOL.md §5 "Frames"): seals a
// request body with HPKE to the pinned fleet key and opens the RFC 9458-style sealed response.
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { TamperingError, UnavailableError } from '../../errors.ts';
import type { FleetPublicInfo } from '../../protocol/fleet.ts';
import { concat } from '../../protocol/vault/bytes.ts';
import {
  deserializeResponseFrame,
  ErrorCode,
  type VaultOp,
  VaultRequestFrame,
} from '../../protocol/vault/frames.ts';
import { Labels } from '../../protocol/vault/labels.ts';
import { deserializeResponse, type VaultResponse } from '../../protocol/vault/responses.ts';
import { aesGcmOpen, hkdf, toArrayBuffer } from './crypto.ts';
import type { VaultTransport } from './transport.ts';

/** The one suite of docs/PROTOCOL.md: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. */
export const clientSuite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});

/** A sealed request and the means to open its response (the request context lives in `open`). */
export interface SealedRequest<K extends VaultOp> {
  readonly frame: Uint8Array;
  /** Opens the response frame to this request; throws TamperingError/UnavailableError. */
  open(responseFrame: Uint8Array): Promise<VaultResponse<K>>;
  /** Ends the life of the response secret (after the response is opened or abandoned). */
  dispose(): void;
}

/** Seals `body` for `op` on `recordId` to the pinned fleet key (HPKE base mode, header as aad). */
export async function sealRequest<K extends VaultOp>(
  fleet: FleetPublicInfo,
  op: K,
  recordId: Uint8Array,
  body: Uint8Array,
  /** Test vectors only: fixed ephemeral key material (RFC 9180 `ekm`); random otherwise. */
  ekm?: Uint8Array,
): Promise<SealedRequest<K>> {
  const recipientPublicKey = await clientSuite.kem.deserializePublicKey(toArrayBuffer(fleet.hpkePublicKey));
  const sender = await clientSuite.createSenderContext({
    recipientPublicKey,
    info: toArrayBuffer(Labels.request),
    ...(ekm === undefined ? {} : { ekm: toArrayBuffer(ekm) }),
  });
  const header = VaultRequestFrame.header(op, fleet.fleetId, recordId);
  const ciphertext = new Uint8Array(await sender.seal(toArrayBuffer(body), toArrayBuffer(header)));
  const enc = new Uint8Array(sender.enc);
  const frame = new VaultRequestFrame({ op, fleetId: fleet.fleetId, recordId, enc, ciphertext }).serialize();
  const secret = new Uint8Array(await sender.export(toArrayBuffer(Labels.response), 32));
  return { frame, open: (bytes) => openResponse(op, enc, secret, bytes), dispose: () => secret.fill(0) };
}

/** Seals `body`, sends it over `transport`, and opens the response (the table fixes its type). */
export async function exchange<K extends VaultOp>(
  fleet: FleetPublicInfo,
  transport: VaultTransport,
  op: K,
  recordId: Uint8Array,
  body: Uint8Array,
): Promise<VaultResponse<K>> {
  const request = await sealRequest(fleet, op, recordId, body);
  try {
    return await request.open(await transport.exchange(request.frame));
  } finally {
    request.dispose();
  }
}

async function openResponse<K extends VaultOp>(
  op: K,
  enc: Uint8Array,
  secret: Uint8Array,
  bytes: Uint8Array,
): Promise<VaultResponse<K>> {
  let frame: ReturnType<typeof deserializeResponseFrame>;
  try {
    frame = deserializeResponseFrame(bytes);
  } catch {
    throw new TamperingError('the vault response is malformed: a relay may have altered it');
  }
  if (frame.kind === 'error') {
    if (frame.code === ErrorCode.unavailable) {
      throw new UnavailableError('the vault could not reach a quorum of its nodes', {
        hints: ['try again later'],
      });
    }
    throw new TamperingError(
      'the vault could not open this request: a relay altered it or the pinned fleet key is wrong',
    );
  }
  const salt = concat(enc, frame.responseNonce);
  const key = await hkdf(secret, salt, Labels.responseKey, 32);
  const nonce = await hkdf(secret, salt, Labels.responseNonce, 12);
  let plaintext: Uint8Array;
  try {
    plaintext = await aesGcmOpen(key, nonce, frame.ciphertext, new Uint8Array(0));
  } catch {
    throw new TamperingError(
      'the vault response did not authenticate: a relay may have altered or replayed it',
    );
  } finally {
    key.fill(0);
  }
  try {
    return deserializeResponse(op, plaintext);
  } catch {
    throw new TamperingError('the vault response is malformed inside its seal');
  }
}
