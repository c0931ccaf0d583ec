// Domain-separation labels and fixed sizes of the vault protocol (docs/PROTOCOL.md "Labels").
// Every hash, MAC, seal and signature input starts with one of these strings, so bytes made for
// one purpose are never accepted for another.
import { label } from './bytes.ts';

export const Labels = {
  /** HPKE `info` of every client request. */
  request: label('strongroom/v1/vault-request'),
  /** HPKE exporter context for the response key (RFC 9458 section 4.4 with our own label). */
  response: label('strongroom/v1/vault-response'),
  /** HKDF-Expand info of the response AEAD key (RFC 9458 section 4.4: "key"). */
  responseKey: label('key'),
  /** HKDF-Expand info of the response AEAD nonce (RFC 9458 section 4.4: "nonce"). */
  responseNonce: label('nonce'),
  /** stateHash = SHA-256(recordState || encoded RecordState). */
  recordState: label('strongroom/v1/record-state'),
  /** Prefix of the bytes every endorsement signs (EndorsementMessage). */
  endorse: label('strongroom/v1/endorse'),
  /** aad prefix of a record's sealed part. */
  sealedRecord: label('strongroom/v1/sealed-record'),
  /** aad prefix of the step-1 pending registration blob. */
  pendingRegistration: label('strongroom/v1/pending-registration'),
  /** aad prefix of the sealed OPAQUE server login state. */
  loginState: label('strongroom/v1/login-state'),
  /** ke1Hash = SHA-256(ke1 || fleetId || recordId || incarnation || KE1). */
  ke1: label('strongroom/v1/ke1'),
  /** HKDF info: wrap key from OPAQUE's export_key. */
  wrapKey: label('strongroom/v1/wrap-key'),
  /** HKDF info: auth_key from K (docs/PROTOCOL.md §4 "Client keys"). */
  vaultAuth: label('strongroom/v1/vault-auth'),
  /** HKDF info: key sealing the recovered wrapped K under the OPAQUE session key. */
  recoverResponse: label('strongroom/v1/recover-response'),
  /** Prefix of the proof MAC for change and delete (docs/PROTOCOL.md §7: proofMac). */
  proof: label('strongroom/v1'),
} as const;

export const FLEET_ID_LENGTH = 16;
export const RECORD_ID_MIN = 16;
export const RECORD_ID_MAX = 64;
export const HASH_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
export const CREDENTIAL_ID_LENGTH = 32;
export const AUTH_KEY_LENGTH = 32;
export const HPKE_ENC_LENGTH = 32;
export const AEAD_TAG_LENGTH = 16;
export const RESPONSE_NONCE_LENGTH = 32;
/** OPAQUE ristretto255-SHA512 sizes (RFC 9807 section 4 with Nn = Npk = Nok = 32, Nm = Nh = 64). */
export const OpaqueSizes = {
  registrationRequest: 32,
  registrationResponse: 64,
  registrationRecord: 192,
  ke1: 96,
  ke2: 320,
  ke3: 64,
} as const;
/** K is 32 bytes; wrapped K = nonce (12) || AES-256-GCM(K) (32 + 16). */
export const WRAPPED_KEY_LENGTH = 60;
