// A vault record's certified state (docs/PROTOCOL.md §1 "Terminology": record, version), its certificate,
// and the exact bytes nodes sign (docs/PROTOCOL.md "Records and certificates").
//
// RecordState:
//   recordIdLen u8 || recordId || version u64 || incarnation u64 || status u8 (1 active, 2 locked,
//   3 deleted) || limit u8 || guessesLeft u8 || lastSuccess u64 || ke1Hash (32; zeros = none)
//   || ke1PaidAt u64 (0 = none) || changeProof flag u8 (0/1) [ChangeProof] || sealed (u16 length;
//   empty once locked or deleted)
// ChangeProof: fromIncarnation u64 || fromVersion u64 || contentHash (32) || mac (32)
// Certificate: count u8 || (nodeIndex u8 || Ed25519 signature (64)) * count
// CertifiedState: state (u32 length) || Certificate
// NodeMark (NVRAM, key "mark/" || recordId): state (u32 length) || signature (64)
//   || from (u32 length; CertifiedState, empty = none)
// EndorsementMessage (signed): "strongroom/v1/endorse" || fleetId (16) || recordIdLen u8 || recordId
//   || version u64 || stateHash (32), stateHash = SHA-256("strongroom/v1/record-state" || RecordState)
import {
  bytesEqual,
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
import {
  FLEET_ID_LENGTH,
  HASH_LENGTH,
  Labels,
  RECORD_ID_MAX,
  RECORD_ID_MIN,
  SIGNATURE_LENGTH,
} from './labels.ts';

export enum RecordStatus {
  active = 1,
  locked = 2,
  deleted = 3,
}

const ZERO_HASH = new Uint8Array(HASH_LENGTH);

/** The MAC of the latest password change, so a device holding K can tell it from tampering. */
export class ChangeProof {
  readonly fromIncarnation: bigint;
  readonly fromVersion: bigint;
  readonly contentHash: Uint8Array;
  readonly mac: Uint8Array;
  constructor(fields: {
    fromIncarnation: bigint;
    fromVersion: bigint;
    contentHash: Uint8Array;
    mac: Uint8Array;
  }) {
    this.fromIncarnation = checkU64('changeProof fromIncarnation', fields.fromIncarnation);
    this.fromVersion = checkU64('changeProof fromVersion', fields.fromVersion);
    this.contentHash = checkSize('changeProof contentHash', fields.contentHash, HASH_LENGTH);
    this.mac = checkSize('changeProof mac', fields.mac, HASH_LENGTH);
  }
  serialize(): Uint8Array {
    return concat(u64(this.fromIncarnation), u64(this.fromVersion), this.contentHash, this.mac);
  }
  static read(r: Reader): ChangeProof {
    return new ChangeProof({
      fromIncarnation: r.u64('changeProof fromIncarnation'),
      fromVersion: r.u64('changeProof fromVersion'),
      contentHash: r.bytes(HASH_LENGTH, 'changeProof contentHash'),
      mac: r.bytes(HASH_LENGTH, 'changeProof mac'),
    });
  }
}

export interface RecordStateFields {
  recordId: Uint8Array;
  version: bigint;
  incarnation: bigint;
  status: RecordStatus;
  limit: number;
  guessesLeft: number;
  lastSuccess: bigint;
  ke1Hash?: Uint8Array | undefined;
  ke1PaidAt?: bigint | undefined;
  changeProof?: ChangeProof | undefined;
  sealed: Uint8Array;
}

/** One version of a record: counters in clear, secrets in the core-sealed part. */
export class RecordState {
  readonly recordId: Uint8Array;
  /** Position in the record's certified chain, from 1. */
  readonly version: bigint;
  /** The version at which the current registration was made. */
  readonly incarnation: bigint;
  readonly status: RecordStatus;
  /** Guess limit of this incarnation (<= the fleet's maximum). */
  readonly limit: number;
  readonly guessesLeft: number;
  /** Version of the last refunded spend (or the incarnation). */
  readonly lastSuccess: bigint;
  /** Hash of the KE1 the last unrefunded spend paid for; undefined when none. */
  readonly ke1Hash: Uint8Array | undefined;
  /** Version of that spend; undefined when none. */
  readonly ke1PaidAt: bigint | undefined;
  readonly changeProof: ChangeProof | undefined;
  /** keystore.seal(SealedSecrets); empty when locked or deleted. */
  readonly sealed: Uint8Array;

  constructor(fields: RecordStateFields) {
    this.recordId = checkRange('record recordId', fields.recordId, RECORD_ID_MIN, RECORD_ID_MAX);
    this.version = checkU64('record version', fields.version);
    if (this.version === 0n) throw new MalformedFrameError('record version must be at least 1');
    this.incarnation = checkU64('record incarnation', fields.incarnation);
    if (!(fields.status in RecordStatus))
      throw new MalformedFrameError(`unknown record status ${fields.status}`);
    this.status = fields.status;
    this.limit = checkInt('record limit', fields.limit, 1, 255);
    this.guessesLeft = checkInt('record guessesLeft', fields.guessesLeft, 0, this.limit);
    this.lastSuccess = checkU64('record lastSuccess', fields.lastSuccess);
    const paid = fields.ke1PaidAt ?? 0n;
    const hash = fields.ke1Hash ?? ZERO_HASH;
    checkSize('record ke1Hash', hash, HASH_LENGTH);
    if ((paid === 0n) !== bytesEqual(hash, ZERO_HASH)) {
      throw new MalformedFrameError('record ke1Hash and ke1PaidAt must be both set or both clear');
    }
    this.ke1PaidAt = paid === 0n ? undefined : checkU64('record ke1PaidAt', paid);
    this.ke1Hash = paid === 0n ? undefined : hash;
    this.changeProof = fields.changeProof;
    this.sealed = checkRange('record sealed part', fields.sealed, 0, 0xffff);
    if ((this.status === RecordStatus.active) !== this.sealed.length > 0) {
      throw new MalformedFrameError('record sealed part must be present exactly while active');
    }
  }

  with(changes: Partial<RecordStateFields>): RecordState {
    return new RecordState({ ...this.fields(), ...changes });
  }

  fields(): RecordStateFields {
    return {
      recordId: this.recordId,
      version: this.version,
      incarnation: this.incarnation,
      status: this.status,
      limit: this.limit,
      guessesLeft: this.guessesLeft,
      lastSuccess: this.lastSuccess,
      ke1Hash: this.ke1Hash,
      ke1PaidAt: this.ke1PaidAt,
      changeProof: this.changeProof,
      sealed: this.sealed,
    };
  }

  serialize(): Uint8Array {
    return concat(
      prefixed(1, this.recordId),
      u64(this.version),
      u64(this.incarnation),
      u8(this.status),
      u8(this.limit),
      u8(this.guessesLeft),
      u64(this.lastSuccess),
      this.ke1Hash ?? ZERO_HASH,
      u64(this.ke1PaidAt ?? 0n),
      this.changeProof === undefined ? u8(0) : concat(u8(1), this.changeProof.serialize()),
      prefixed(2, this.sealed),
    );
  }

  static deserialize(bytes: Uint8Array): RecordState {
    const r = new Reader(bytes, 'record state');
    const recordId = r.prefixed(1, 'recordId');
    const version = r.u64('version');
    const incarnation = r.u64('incarnation');
    const status = r.u8('status');
    const limit = r.u8('limit');
    const guessesLeft = r.u8('guessesLeft');
    const lastSuccess = r.u64('lastSuccess');
    const ke1Hash = r.bytes(HASH_LENGTH, 'ke1Hash');
    const ke1PaidAt = r.u64('ke1PaidAt');
    const flag = r.u8('changeProof flag');
    if (flag > 1) throw new MalformedFrameError('record state: bad changeProof flag');
    const changeProof = flag === 1 ? ChangeProof.read(r) : undefined;
    const sealed = r.prefixed(2, 'sealed');
    r.end();
    return new RecordState({
      recordId,
      version,
      incarnation,
      status,
      limit,
      guessesLeft,
      lastSuccess,
      ke1Hash,
      ke1PaidAt,
      changeProof,
      sealed,
    });
  }

  /** The bytes whose SHA-256 is the stateHash every endorsement signs. */
  hashInput(): Uint8Array {
    return concat(Labels.recordState, this.serialize());
  }
}

/** The exact bytes a node signs to endorse `state` (a named byte type; snapshot-tested). */
export class EndorsementMessage {
  constructor(
    readonly fleetId: Uint8Array,
    readonly recordId: Uint8Array,
    readonly version: bigint,
    readonly stateHash: Uint8Array,
  ) {
    checkSize('endorsement fleetId', fleetId, FLEET_ID_LENGTH);
    checkRange('endorsement recordId', recordId, RECORD_ID_MIN, RECORD_ID_MAX);
    checkU64('endorsement version', version);
    checkSize('endorsement stateHash', stateHash, HASH_LENGTH);
  }
  serialize(): Uint8Array {
    return concat(
      Labels.endorse,
      this.fleetId,
      prefixed(1, this.recordId),
      u64(this.version),
      this.stateHash,
    );
  }
}

export interface Signature {
  readonly nodeIndex: number;
  readonly signature: Uint8Array;
}

/** Signatures of distinct fleet members over one state's EndorsementMessage. */
export class Certificate {
  readonly signatures: readonly Signature[];
  constructor(signatures: readonly Signature[]) {
    checkInt('certificate size', signatures.length, 1, 255);
    const seen = new Set<number>();
    for (const s of signatures) {
      checkInt('certificate nodeIndex', s.nodeIndex, 0, 254);
      checkSize('certificate signature', s.signature, SIGNATURE_LENGTH);
      if (seen.has(s.nodeIndex)) throw new MalformedFrameError('certificate names a node twice');
      seen.add(s.nodeIndex);
    }
    this.signatures = Object.freeze([...signatures]);
  }
  serialize(): Uint8Array {
    return concat(
      u8(this.signatures.length),
      ...this.signatures.map((s) => concat(u8(s.nodeIndex), s.signature)),
    );
  }
  static read(r: Reader): Certificate {
    const count = r.u8('certificate count');
    const signatures: Signature[] = [];
    for (let i = 0; i < count; i++) {
      signatures.push({
        nodeIndex: r.u8('certificate nodeIndex'),
        signature: r.bytes(SIGNATURE_LENGTH, 'certificate signature'),
      });
    }
    return new Certificate(signatures);
  }
}

/** A state and the quorum certificate that makes it part of the record's chain. */
export class CertifiedState {
  constructor(
    readonly state: RecordState,
    readonly certificate: Certificate,
  ) {}
  serialize(): Uint8Array {
    return concat(prefixed(4, this.state.serialize()), this.certificate.serialize());
  }
  static deserialize(bytes: Uint8Array): CertifiedState {
    const r = new Reader(bytes, 'certified state');
    const state = RecordState.deserialize(r.prefixed(4, 'state'));
    const certificate = Certificate.read(r);
    r.end();
    return new CertifiedState(state, certificate);
  }
}

/**
 * The NVRAM key prefix of a node's marks: a mark lives at `"mark/" || recordId`, so disaster
 * recovery lists marks by prefix without decoding anything else a core keeps.
 */
export const NODE_MARK_PREFIX = new TextEncoder().encode('mark/');

/** The NVRAM key of a record's mark. */
export function nodeMarkKey(recordId: Uint8Array): Uint8Array {
  return concat(NODE_MARK_PREFIX, recordId);
}

/**
 * A node's mark in its NVRAM: the latest state it endorsed for a record, its own signature, and
 * the certified from-state it checked before endorsing (absent only for a create at version 1).
 * The from-certificate is what lets `fleet repair` rebuild a record whose nodes moved on one by
 * one: the last certified state may be marked by fewer than a quorum, but every node that endorsed
 * past it holds its certificate.
 */
export class NodeMark {
  constructor(
    readonly state: RecordState,
    readonly signature: Uint8Array,
    readonly from?: CertifiedState,
  ) {
    checkSize('mark signature', signature, SIGNATURE_LENGTH);
  }
  serialize(): Uint8Array {
    return concat(
      prefixed(4, this.state.serialize()),
      this.signature,
      prefixed(4, this.from?.serialize() ?? new Uint8Array(0)),
    );
  }
  static deserialize(bytes: Uint8Array): NodeMark {
    const r = new Reader(bytes, 'node mark');
    const state = RecordState.deserialize(r.prefixed(4, 'state'));
    const signature = r.bytes(SIGNATURE_LENGTH, 'signature');
    const fromBytes = r.prefixed(4, 'from');
    r.end();
    return new NodeMark(
      state,
      signature,
      fromBytes.length === 0 ? undefined : CertifiedState.deserialize(fromBytes),
    );
  }
}
