// The core's side of OPAQUE (RFC 9807, ristretto255-SHA512) through @serenity-kit/opaque, with the
// identities of docs/PROTOCOL.md §4 "Building blocks": client = lowercase hex of the record id,
// server = lowercase hex of the fleet id, credential identifier = lowercase hex of the 32 random
// bytes the core drew at registration step 1 (never an identifier taken from a request).
import * as opaque from '@serenity-kit/opaque';
import { fromBase64Url, toBase64Url, toHex } from '../protocol/vault/bytes.ts';

/** The library's WASM must be loaded before any call; the core awaits this at start. */
export const opaqueReady: Promise<void> = opaque.ready;

function identifiers(fleetId: Uint8Array, recordId: Uint8Array): { client: string; server: string } {
  return { client: toHex(recordId), server: toHex(fleetId) };
}

/** Holds the fleet's OPAQUE server setup (OPRF seed and AKE key pair) for the core's lifetime. */
export class OpaqueServer {
  constructor(
    private readonly serverSetup: string,
    private readonly fleetId: Uint8Array,
  ) {}

  /** The AKE public key the setup holds (checked against the sealed fleet config at start). */
  publicKey(): Uint8Array {
    return fromBase64Url(opaque.server.getPublicKey(this.serverSetup));
  }

  /** Registration step 1: one OPRF evaluation under the freshly drawn credential id. */
  registrationResponse(credentialId: Uint8Array, registrationRequest: Uint8Array): Uint8Array {
    const { registrationResponse } = opaque.server.createRegistrationResponse({
      serverSetup: this.serverSetup,
      userIdentifier: toHex(credentialId),
      registrationRequest: toBase64Url(registrationRequest),
    });
    return fromBase64Url(registrationResponse);
  }

  /** KE2 for a paid KE1; the credential id and record come from the certified sealed part. */
  startLogin(
    recordId: Uint8Array,
    credentialId: Uint8Array,
    registrationRecord: Uint8Array,
    ke1: Uint8Array,
  ): { ke2: Uint8Array; serverLoginState: Uint8Array } {
    const { loginResponse, serverLoginState } = opaque.server.startLogin({
      serverSetup: this.serverSetup,
      userIdentifier: toHex(credentialId),
      registrationRecord: toBase64Url(registrationRecord),
      startLoginRequest: toBase64Url(ke1),
      identifiers: identifiers(this.fleetId, recordId),
    });
    return { ke2: fromBase64Url(loginResponse), serverLoginState: fromBase64Url(serverLoginState) };
  }

  /** Verifies KE3; returns the session key, or undefined when the login does not verify. */
  finishLogin(recordId: Uint8Array, serverLoginState: Uint8Array, ke3: Uint8Array): Uint8Array | undefined {
    try {
      const { sessionKey } = opaque.server.finishLogin({
        serverLoginState: toBase64Url(serverLoginState),
        finishLoginRequest: toBase64Url(ke3),
        identifiers: identifiers(this.fleetId, recordId),
      });
      return fromBase64Url(sessionKey);
    } catch {
      return undefined;
    }
  }
}
