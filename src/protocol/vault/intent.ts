// A proposed transition (docs/PROTOCOL.md §11 "Transition table"): what a coordinator writes into the store as a
// pending intent and what every node is asked to endorse (docs/PROTOCOL.md §9 "Coordinator").
//
// Intent: kind u8 (TransitionKind) || from (u32 length; CertifiedState, empty = no record yet)
//   || to (u32 length; RecordState) || evidence (u32 length; the client's request frame, empty for
//   spend and lock)
import { checkRange, concat, MalformedFrameError, prefixed, Reader, u8 } from './bytes.ts';
import { CertifiedState, RecordState } from './record.ts';

export enum TransitionKind {
  create = 1,
  spend = 2,
  refund = 3,
  lock = 4,
  change = 5,
  delete = 6,
}

export class Intent {
  readonly kind: TransitionKind;
  /** The certified state this transition starts from; undefined only for a create at version 1. */
  readonly from: CertifiedState | undefined;
  /** The proposed next state (version = from.version + 1, or 1). */
  readonly to: RecordState;
  /** The client's sealed request frame that justifies create, change, refund and delete. */
  readonly evidence: Uint8Array;

  constructor(fields: {
    kind: TransitionKind;
    from: CertifiedState | undefined;
    to: RecordState;
    evidence: Uint8Array;
  }) {
    if (!(fields.kind in TransitionKind))
      throw new MalformedFrameError(`unknown transition kind ${fields.kind}`);
    this.kind = fields.kind;
    this.from = fields.from;
    this.to = fields.to;
    this.evidence = checkRange('intent evidence', fields.evidence, 0, 1 << 20);
    const expected = this.from === undefined ? 1n : this.from.state.version + 1n;
    if (this.to.version !== expected)
      throw new MalformedFrameError('intent: to.version must follow from.version');
  }

  serialize(): Uint8Array {
    return concat(
      u8(this.kind),
      prefixed(4, this.from?.serialize() ?? new Uint8Array(0)),
      prefixed(4, this.to.serialize()),
      prefixed(4, this.evidence),
    );
  }

  static deserialize(bytes: Uint8Array): Intent {
    const r = new Reader(bytes, 'intent');
    const kind = r.u8('kind');
    const fromBytes = r.prefixed(4, 'from');
    const to = RecordState.deserialize(r.prefixed(4, 'to'));
    const evidence = r.prefixed(4, 'evidence');
    r.end();
    const from = fromBytes.length === 0 ? undefined : CertifiedState.deserialize(fromBytes);
    return new Intent({ kind, from, to, evidence });
  }
}
