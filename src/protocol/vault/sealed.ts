// Plaintexts the cores seal with the fleet's record key, and the MACed/hashed byte types that bind
// client requests (docs/PROTOCOL.md §7 "Records and certificates"). The host stores or carries the
// sealed forms; only a core opens them.
//
// SealedSecrets: credentialId (32) || registrationRecord (192) || wrappedK (60) || authKey (32)
//   aad = "strongroom/v1/sealed-record" || fleetId || recordIdLen u8 || recordId || incarnation u64
// PendingRegistration: credentialId (32) || kind u8 || targetVersion u64
//   || registrationRequestHash (32) || registrationResponseHash (32)
//   aad = "strongroom/v1/pending-registration" || fleetId || recordIdLen u8 || recordId
// LoginState: incarnation u64 || ke1PaidAt u64 || ke1Hash (32) || serverLoginState (u16 length)
//   aad = "strongroom/v1/login-state" || fleetId || recordIdLen u8 || recordId
// Ke1Binding (hashed): "strongroom/v1/ke1" || fleetId || recordIdLen u8 || recordId || incarnation u64 || KE1
// ProofMessage (HMAC-SHA256 under auth_key): "strongroom/v1" || op u8 || fleetId || recordIdLen u8
//   || recordId || incarnation u64 || fromVersion u64 || contentHash (32)
//   contentHash = SHA-256(registrationRecord || wrappedK || authKey || limit u8) for a change,
//   SHA-256() of nothing for a delete.
import { checkSize, checkU64, concat, prefixed, Reader, u8, u64 } from './bytes.ts';
import type { VaultOp } from './frames.ts';
import {
  AUTH_KEY_LENGTH,
  CREDENTIAL_ID_LENGTH,
  HASH_LENGTH,
  Labels,
  OpaqueSizes,
  WRAPPED_KEY_LENGTH,
} from './labels.ts';
import type { RegistrationKind } from './requests.ts';

export function recordAad(
  prefix: Uint8Array,
  fleetId: Uint8Array,
  recordId: Uint8Array,
  incarnation?: bigint,
): Uint8Array {
  return concat(
    prefix,
    fleetId,
    prefixed(1, recordId),
    incarnation === undefined ? new Uint8Array(0) : u64(incarnation),
  );
}

/** The secrets of one incarnation, sealed together so none can be moved to another record. */
export class SealedSecrets {
  constructor(
    readonly credentialId: Uint8Array,
    readonly registrationRecord: Uint8Array,
    readonly wrappedK: Uint8Array,
    readonly authKey: Uint8Array,
  ) {
    checkSize('credentialId', credentialId, CREDENTIAL_ID_LENGTH);
    checkSize('registrationRecord', registrationRecord, OpaqueSizes.registrationRecord);
    checkSize('wrappedK', wrappedK, WRAPPED_KEY_LENGTH);
    checkSize('authKey', authKey, AUTH_KEY_LENGTH);
  }
  serialize(): Uint8Array {
    return concat(this.credentialId, this.registrationRecord, this.wrappedK, this.authKey);
  }
  static deserialize(bytes: Uint8Array): SealedSecrets {
    const r = new Reader(bytes, 'sealed secrets');
    const s = new SealedSecrets(
      r.bytes(CREDENTIAL_ID_LENGTH, 'credentialId'),
      r.bytes(OpaqueSizes.registrationRecord, 'registrationRecord'),
      r.bytes(WRAPPED_KEY_LENGTH, 'wrappedK'),
      r.bytes(AUTH_KEY_LENGTH, 'authKey'),
    );
    r.end();
    return s;
  }
}

/** Step-1 state: the only place the drawn credential id travels before step 2 consumes it. */
export class PendingRegistration {
  constructor(
    readonly credentialId: Uint8Array,
    readonly kind: RegistrationKind,
    readonly targetVersion: bigint,
    readonly registrationRequestHash: Uint8Array,
    readonly registrationResponseHash: Uint8Array,
  ) {
    checkSize('credentialId', credentialId, CREDENTIAL_ID_LENGTH);
    checkU64('targetVersion', targetVersion);
    checkSize('registrationRequestHash', registrationRequestHash, HASH_LENGTH);
    checkSize('registrationResponseHash', registrationResponseHash, HASH_LENGTH);
  }
  serialize(): Uint8Array {
    return concat(
      this.credentialId,
      u8(this.kind),
      u64(this.targetVersion),
      this.registrationRequestHash,
      this.registrationResponseHash,
    );
  }
  static deserialize(bytes: Uint8Array): PendingRegistration {
    const r = new Reader(bytes, 'pending registration');
    const p = new PendingRegistration(
      r.bytes(CREDENTIAL_ID_LENGTH, 'credentialId'),
      r.u8('kind'),
      r.u64('targetVersion'),
      r.bytes(HASH_LENGTH, 'registrationRequestHash'),
      r.bytes(HASH_LENGTH, 'registrationResponseHash'),
    );
    r.end();
    return p;
  }
}

/** OPAQUE server login state bound to the spend that paid for it. */
export class LoginState {
  constructor(
    readonly incarnation: bigint,
    readonly ke1PaidAt: bigint,
    readonly ke1Hash: Uint8Array,
    readonly serverLoginState: Uint8Array,
  ) {
    checkU64('incarnation', incarnation);
    checkU64('ke1PaidAt', ke1PaidAt);
    checkSize('ke1Hash', ke1Hash, HASH_LENGTH);
  }
  serialize(): Uint8Array {
    return concat(
      u64(this.incarnation),
      u64(this.ke1PaidAt),
      this.ke1Hash,
      prefixed(2, this.serverLoginState),
    );
  }
  static deserialize(bytes: Uint8Array): LoginState {
    const r = new Reader(bytes, 'login state');
    const s = new LoginState(
      r.u64('incarnation'),
      r.u64('ke1PaidAt'),
      r.bytes(HASH_LENGTH, 'ke1Hash'),
      r.prefixed(2, 'serverLoginState'),
    );
    r.end();
    return s;
  }
}

/** The bytes hashed into ke1Hash: a KE1 is bound to (fleet, record, incarnation), not a version. */
export function ke1Binding(
  fleetId: Uint8Array,
  recordId: Uint8Array,
  incarnation: bigint,
  ke1: Uint8Array,
): Uint8Array {
  return concat(Labels.ke1, fleetId, prefixed(1, recordId), u64(incarnation), ke1);
}

/** The bytes the change/delete proof MAC covers (docs/PROTOCOL.md §7: proofMac, contentHash). */
export function proofMessage(fields: {
  op: VaultOp;
  fleetId: Uint8Array;
  recordId: Uint8Array;
  incarnation: bigint;
  fromVersion: bigint;
  contentHash: Uint8Array;
}): Uint8Array {
  return concat(
    Labels.proof,
    u8(fields.op),
    fields.fleetId,
    prefixed(1, fields.recordId),
    u64(fields.incarnation),
    u64(fields.fromVersion),
    checkSize('contentHash', fields.contentHash, HASH_LENGTH),
  );
}

/** Input of a change's contentHash (SHA-256 of it); a delete hashes the empty string. */
export function changeContent(
  registrationRecord: Uint8Array,
  wrappedK: Uint8Array,
  authKey: Uint8Array,
  limit: number,
): Uint8Array {
  return concat(registrationRecord, wrappedK, authKey, u8(limit));
}
