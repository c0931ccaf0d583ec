// Plaintext bodies of the vault's sealed responses (docs/PROTOCOL.md §6.2 "Response bodies"). Expected
// outcomes are variants, not errors: a response is outcome u8 || payload.
//
// outcome 0 ok:          the op's result (below)
// outcome 1 locked:      (empty)       the record is locked (or at zero guesses): K is gone
// outcome 2 no-record:   (empty)       no certified state was shown for this record
// outcome 3 stale:       RecordSummary the record moved on (another guess, another incarnation)
// outcome 4 refused:     reason u8     the request broke a rule (RefusalReason)
//
// RecordSummary:       version u64 || incarnation u64 || status u8 || limit u8 || guessesLeft u8
//                      || lastSuccess u64
// StatusResult:        RecordSummary
// RegisterStartResult: targetVersion u64 || registrationResponse (64) || pendingBlob (u16 length)
// RegisterFinishResult: RecordSummary
// LoginStartResult:    RecordSummary (the spend's state) || KE2 (320) || loginBlob (u16 length)
// LoginFinishResult:   RecordSummary (the refund's state) || recoveryNonce (12)
//                      || recovery (u16 length; AES-256-GCM under HKDF(sessionKey,
//                      "strongroom/v1/recover-response") of Recovery, aad = RecordSummary)
// Recovery:            wrappedK (60) || changeProof flag u8 [ChangeProof]
// DeleteResult:        RecordSummary
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
import { VaultOp } from './frames.ts';
import { OpaqueSizes, WRAPPED_KEY_LENGTH } from './labels.ts';
import { ChangeProof, type RecordState, RecordStatus } from './record.ts';

export enum Outcome {
  ok = 0,
  locked = 1,
  noRecord = 2,
  stale = 3,
  refused = 4,
}

/** Why a core refused (no detail an attacker could use). */
export enum RefusalReason {
  malformed = 1,
  badCertificate = 2,
  badTransition = 3,
  badEvidence = 4,
  conflict = 5,
  wrongRecord = 6,
  notPaid = 7,
  badProof = 8,
}

/** The clear counters of a certified state, as a client sees them. */
export class RecordSummary {
  readonly version: bigint;
  readonly incarnation: bigint;
  readonly status: RecordStatus;
  readonly limit: number;
  readonly guessesLeft: number;
  readonly lastSuccess: bigint;
  constructor(fields: {
    version: bigint;
    incarnation: bigint;
    status: RecordStatus;
    limit: number;
    guessesLeft: number;
    lastSuccess: bigint;
  }) {
    this.version = checkU64('summary version', fields.version);
    this.incarnation = checkU64('summary incarnation', fields.incarnation);
    if (!(fields.status in RecordStatus)) throw new MalformedFrameError('summary: unknown status');
    this.status = fields.status;
    this.limit = checkInt('summary limit', fields.limit, 1, 255);
    this.guessesLeft = checkInt('summary guessesLeft', fields.guessesLeft, 0, this.limit);
    this.lastSuccess = checkU64('summary lastSuccess', fields.lastSuccess);
  }
  static of(state: RecordState): RecordSummary {
    return new RecordSummary(state);
  }
  serialize(): Uint8Array {
    return concat(
      u64(this.version),
      u64(this.incarnation),
      u8(this.status),
      u8(this.limit),
      u8(this.guessesLeft),
      u64(this.lastSuccess),
    );
  }
  static read(r: Reader): RecordSummary {
    return new RecordSummary({
      version: r.u64('version'),
      incarnation: r.u64('incarnation'),
      status: r.u8('status'),
      limit: r.u8('limit'),
      guessesLeft: r.u8('guessesLeft'),
      lastSuccess: r.u64('lastSuccess'),
    });
  }
}

export class RegisterStartResult {
  constructor(
    readonly targetVersion: bigint,
    readonly registrationResponse: Uint8Array,
    readonly pendingBlob: Uint8Array,
  ) {
    checkU64('targetVersion', targetVersion);
    checkSize('registrationResponse', registrationResponse, OpaqueSizes.registrationResponse);
    checkRange('pendingBlob', pendingBlob, 1, 4096);
  }
  serialize(): Uint8Array {
    return concat(u64(this.targetVersion), this.registrationResponse, prefixed(2, this.pendingBlob));
  }
  static read(r: Reader): RegisterStartResult {
    return new RegisterStartResult(
      r.u64('targetVersion'),
      r.bytes(OpaqueSizes.registrationResponse, 'registrationResponse'),
      r.prefixed(2, 'pendingBlob'),
    );
  }
}

export class LoginStartResult {
  constructor(
    readonly summary: RecordSummary,
    readonly ke2: Uint8Array,
    readonly loginBlob: Uint8Array,
  ) {
    checkSize('KE2', ke2, OpaqueSizes.ke2);
    checkRange('loginBlob', loginBlob, 1, 4096);
  }
  serialize(): Uint8Array {
    return concat(this.summary.serialize(), this.ke2, prefixed(2, this.loginBlob));
  }
  static read(r: Reader): LoginStartResult {
    return new LoginStartResult(
      RecordSummary.read(r),
      r.bytes(OpaqueSizes.ke2, 'KE2'),
      r.prefixed(2, 'loginBlob'),
    );
  }
}

export class LoginFinishResult {
  constructor(
    readonly summary: RecordSummary,
    readonly recoveryNonce: Uint8Array,
    readonly recovery: Uint8Array,
  ) {
    checkSize('recoveryNonce', recoveryNonce, 12);
    checkRange('recovery', recovery, 16, 4096);
  }
  serialize(): Uint8Array {
    return concat(this.summary.serialize(), this.recoveryNonce, prefixed(2, this.recovery));
  }
  static read(r: Reader): LoginFinishResult {
    return new LoginFinishResult(
      RecordSummary.read(r),
      r.bytes(12, 'recoveryNonce'),
      r.prefixed(2, 'recovery'),
    );
  }
}

/** What only the OPAQUE session key opens: the wrapped K and the latest change's proof. */
export class Recovery {
  constructor(
    readonly wrappedK: Uint8Array,
    readonly changeProof: ChangeProof | undefined,
  ) {
    checkSize('wrappedK', wrappedK, WRAPPED_KEY_LENGTH);
  }
  serialize(): Uint8Array {
    return concat(
      this.wrappedK,
      this.changeProof === undefined ? u8(0) : concat(u8(1), this.changeProof.serialize()),
    );
  }
  static deserialize(bytes: Uint8Array): Recovery {
    const r = new Reader(bytes, 'recovery');
    const wrappedK = r.bytes(WRAPPED_KEY_LENGTH, 'wrappedK');
    const flag = r.u8('changeProof flag');
    if (flag > 1) throw new MalformedFrameError('recovery: bad changeProof flag');
    const proof = flag === 1 ? ChangeProof.read(r) : undefined;
    r.end();
    return new Recovery(wrappedK, proof);
  }
}

/** The ok result type of each op: the request→response table (docs/PROTOCOL.md §6.2). */
export interface OkResults {
  [VaultOp.status]: RecordSummary;
  [VaultOp.registerStart]: RegisterStartResult;
  [VaultOp.registerFinish]: RecordSummary;
  [VaultOp.loginStart]: LoginStartResult;
  [VaultOp.loginFinish]: LoginFinishResult;
  [VaultOp.delete]: RecordSummary;
}

const okReaders: { [K in VaultOp]: (r: Reader) => OkResults[K] } = {
  [VaultOp.status]: RecordSummary.read,
  [VaultOp.registerStart]: RegisterStartResult.read,
  [VaultOp.registerFinish]: RecordSummary.read,
  [VaultOp.loginStart]: LoginStartResult.read,
  [VaultOp.loginFinish]: LoginFinishResult.read,
  [VaultOp.delete]: RecordSummary.read,
};

export type VaultResponse<K extends VaultOp> =
  | { readonly outcome: Outcome.ok; readonly result: OkResults[K] }
  | { readonly outcome: Outcome.locked | Outcome.noRecord }
  | { readonly outcome: Outcome.stale; readonly summary: RecordSummary }
  | { readonly outcome: Outcome.refused; readonly reason: RefusalReason };

export function serializeResponse<K extends VaultOp>(response: VaultResponse<K>): Uint8Array {
  switch (response.outcome) {
    case Outcome.ok:
      return concat(u8(Outcome.ok), response.result.serialize());
    case Outcome.stale:
      return concat(u8(Outcome.stale), response.summary.serialize());
    case Outcome.refused:
      return concat(u8(Outcome.refused), u8(response.reason));
    default:
      return u8(response.outcome);
  }
}

/** Decodes the response to a request of `op` (the table ties the payload type to the op). */
export function deserializeResponse<K extends VaultOp>(op: K, bytes: Uint8Array): VaultResponse<K> {
  const r = new Reader(bytes, `${VaultOp[op]} response`);
  const outcome = r.u8('outcome');
  let response: VaultResponse<K>;
  switch (outcome) {
    case Outcome.ok:
      response = { outcome, result: okReaders[op](r) as OkResults[K] };
      break;
    case Outcome.locked:
    case Outcome.noRecord:
      response = { outcome };
      break;
    case Outcome.stale:
      response = { outcome, summary: RecordSummary.read(r) };
      break;
    case Outcome.refused:
      response = { outcome, reason: checkInt('refusal reason', r.u8('reason'), 1, 8) };
      break;
    default:
      throw new MalformedFrameError(`${VaultOp[op]} response: unknown outcome ${outcome}`);
  }
  r.end();
  return response;
}
