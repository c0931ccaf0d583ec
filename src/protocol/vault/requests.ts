// Plaintext bodies of the client's HPKE-sealed requests, one class per op (docs/PROTOCOL.md
// "Requests"). Each binds what its op is bound to; the header (op, fleet, record) is the aad.
//
// StatusRequest:          (empty)
// RegisterStartRequest:   kind u8 (1 create, 2 change) || registrationRequest (32)
// RegisterFinishRequest:  kind u8 || targetVersion u64 || registrationResponseHash (32)
//                         || limit u8 || registrationRecord (192) || wrappedK (60) || authKey (32)
//                         || proofMac (32; zeros for create) || pendingBlob (u16 length)
// LoginStartRequest:      incarnation u64 || KE1 (96)
// LoginFinishRequest:     KE3 (64) || loginBlob (u16 length)
// DeleteRequest:          fromVersion u64 || proofMac (32)
import {
  checkInt,
  checkRange,
  checkSize,
  checkU64,
  concat,
  MalformedFrameError,
  prefixed,
  Reader,
  u8,
  u64,
} from './bytes.ts';
import { AUTH_KEY_LENGTH, HASH_LENGTH, OpaqueSizes, WRAPPED_KEY_LENGTH } from './labels.ts';

/** Whether a registration creates a record (or re-creates a locked/deleted one) or changes a password. */
export enum RegistrationKind {
  create = 1,
  change = 2,
}

function checkKind(value: number): RegistrationKind {
  if (value !== 1 && value !== 2) throw new MalformedFrameError(`unknown registration kind ${value}`);
  return value;
}

const MAX_BLOB = 4096;

export class StatusRequest {
  serialize(): Uint8Array {
    return new Uint8Array(0);
  }
  static deserialize(bytes: Uint8Array): StatusRequest {
    new Reader(bytes, 'status request').end();
    return new StatusRequest();
  }
}

/** Registration step 1: the client's blinded OPRF input. */
export class RegisterStartRequest {
  readonly kind: RegistrationKind;
  readonly registrationRequest: Uint8Array;
  constructor(fields: { kind: RegistrationKind; registrationRequest: Uint8Array }) {
    this.kind = checkKind(fields.kind);
    this.registrationRequest = checkSize(
      'registrationRequest',
      fields.registrationRequest,
      OpaqueSizes.registrationRequest,
    );
  }
  serialize(): Uint8Array {
    return concat(u8(this.kind), this.registrationRequest);
  }
  static deserialize(bytes: Uint8Array): RegisterStartRequest {
    const r = new Reader(bytes, 'register-start request');
    const kind = checkKind(r.u8('kind'));
    const registrationRequest = r.bytes(OpaqueSizes.registrationRequest, 'registrationRequest');
    r.end();
    return new RegisterStartRequest({ kind, registrationRequest });
  }
}

/** Registration step 2: everything the new sealed part holds, bound to the target version. */
export class RegisterFinishRequest {
  readonly kind: RegistrationKind;
  /** The version the create/change transition must produce (from step 1). */
  readonly targetVersion: bigint;
  /** SHA-256 of the registration response the client finished with. */
  readonly registrationResponseHash: Uint8Array;
  /** Guess limit, 1..fleet maximum. */
  readonly limit: number;
  readonly registrationRecord: Uint8Array;
  /** K wrapped under HKDF(export_key, wrap-key): nonce (12) || AES-256-GCM. */
  readonly wrappedK: Uint8Array;
  /** HKDF(K, vault-auth): checks later proof MACs. */
  readonly authKey: Uint8Array;
  /** Change: HMAC(old authKey, ProofMessage); create: 32 zero bytes. */
  readonly proofMac: Uint8Array;
  /** Core-sealed step-1 state, opaque to the client. */
  readonly pendingBlob: Uint8Array;

  constructor(fields: {
    kind: RegistrationKind;
    targetVersion: bigint;
    registrationResponseHash: Uint8Array;
    limit: number;
    registrationRecord: Uint8Array;
    wrappedK: Uint8Array;
    authKey: Uint8Array;
    proofMac: Uint8Array;
    pendingBlob: Uint8Array;
  }) {
    this.kind = checkKind(fields.kind);
    this.targetVersion = checkU64('targetVersion', fields.targetVersion);
    if (this.targetVersion === 0n) throw new MalformedFrameError('targetVersion must be at least 1');
    this.registrationResponseHash = checkSize(
      'registrationResponseHash',
      fields.registrationResponseHash,
      HASH_LENGTH,
    );
    this.limit = checkInt('limit', fields.limit, 1, 255);
    this.registrationRecord = checkSize(
      'registrationRecord',
      fields.registrationRecord,
      OpaqueSizes.registrationRecord,
    );
    this.wrappedK = checkSize('wrappedK', fields.wrappedK, WRAPPED_KEY_LENGTH);
    this.authKey = checkSize('authKey', fields.authKey, AUTH_KEY_LENGTH);
    this.proofMac = checkSize('proofMac', fields.proofMac, HASH_LENGTH);
    this.pendingBlob = checkRange('pendingBlob', fields.pendingBlob, 1, MAX_BLOB);
  }
  serialize(): Uint8Array {
    return concat(
      u8(this.kind),
      u64(this.targetVersion),
      this.registrationResponseHash,
      u8(this.limit),
      this.registrationRecord,
      this.wrappedK,
      this.authKey,
      this.proofMac,
      prefixed(2, this.pendingBlob),
    );
  }
  static deserialize(bytes: Uint8Array): RegisterFinishRequest {
    const r = new Reader(bytes, 'register-finish request');
    const fields = {
      kind: checkKind(r.u8('kind')),
      targetVersion: r.u64('targetVersion'),
      registrationResponseHash: r.bytes(HASH_LENGTH, 'registrationResponseHash'),
      limit: r.u8('limit'),
      registrationRecord: r.bytes(OpaqueSizes.registrationRecord, 'registrationRecord'),
      wrappedK: r.bytes(WRAPPED_KEY_LENGTH, 'wrappedK'),
      authKey: r.bytes(AUTH_KEY_LENGTH, 'authKey'),
      proofMac: r.bytes(HASH_LENGTH, 'proofMac'),
      pendingBlob: r.prefixed(2, 'pendingBlob'),
    };
    r.end();
    return new RegisterFinishRequest(fields);
  }
}

/** Recover step 1: KE1 bound to the incarnation the client expects. */
export class LoginStartRequest {
  readonly incarnation: bigint;
  readonly ke1: Uint8Array;
  constructor(fields: { incarnation: bigint; ke1: Uint8Array }) {
    this.incarnation = checkU64('incarnation', fields.incarnation);
    this.ke1 = checkSize('KE1', fields.ke1, OpaqueSizes.ke1);
  }
  serialize(): Uint8Array {
    return concat(u64(this.incarnation), this.ke1);
  }
  static deserialize(bytes: Uint8Array): LoginStartRequest {
    const r = new Reader(bytes, 'login-start request');
    const incarnation = r.u64('incarnation');
    const ke1 = r.bytes(OpaqueSizes.ke1, 'KE1');
    r.end();
    return new LoginStartRequest({ incarnation, ke1 });
  }
}

/** Recover step 2: KE3 and the core-sealed login state from step 1. */
export class LoginFinishRequest {
  readonly ke3: Uint8Array;
  readonly loginBlob: Uint8Array;
  constructor(fields: { ke3: Uint8Array; loginBlob: Uint8Array }) {
    this.ke3 = checkSize('KE3', fields.ke3, OpaqueSizes.ke3);
    this.loginBlob = checkRange('loginBlob', fields.loginBlob, 1, MAX_BLOB);
  }
  serialize(): Uint8Array {
    return concat(this.ke3, prefixed(2, this.loginBlob));
  }
  static deserialize(bytes: Uint8Array): LoginFinishRequest {
    const r = new Reader(bytes, 'login-finish request');
    const ke3 = r.bytes(OpaqueSizes.ke3, 'KE3');
    const loginBlob = r.prefixed(2, 'loginBlob');
    r.end();
    return new LoginFinishRequest({ ke3, loginBlob });
  }
}

/** Disable password mode: the proof MAC over the version being deleted. */
export class DeleteRequest {
  readonly fromVersion: bigint;
  readonly proofMac: Uint8Array;
  constructor(fields: { fromVersion: bigint; proofMac: Uint8Array }) {
    this.fromVersion = checkU64('fromVersion', fields.fromVersion);
    this.proofMac = checkSize('proofMac', fields.proofMac, HASH_LENGTH);
  }
  serialize(): Uint8Array {
    return concat(u64(this.fromVersion), this.proofMac);
  }
  static deserialize(bytes: Uint8Array): DeleteRequest {
    const r = new Reader(bytes, 'delete request');
    const fromVersion = r.u64('fromVersion');
    const proofMac = r.bytes(HASH_LENGTH, 'proofMac');
    r.end();
    return new DeleteRequest({ fromVersion, proofMac });
  }
}
