// The untrusted record store (docs/ARCHITECTURE.md "Record store"): durability, availability and a total order through
// compare-and-swap. It stores opaque bytes; every value in it is sealed or certified by the cores.
// Implementations: SQLite (embedded default, sqlite.ts) and etcd (etcd.ts).

/** One record's slot in the store: the committed certified state and an optional pending intent. */
export interface StoredSlot {
  /** Encoded committed state + certificate (src/protocol), absent before the first commit. */
  readonly committed?: Uint8Array;
  /** Encoded pending intent (proposed next state + its evidence), absent when none is pending. */
  readonly intent?: Uint8Array;
  /** Store revision of this slot; pass it back to compareAndSet. Opaque to callers. */
  readonly revision: bigint;
}

export interface RecordStore {
  /** The slot for `recordId`, or undefined when the store has never held it. */
  get(recordId: Uint8Array): Promise<StoredSlot | undefined>;
  /**
   * Writes `next` only if the slot's revision is still `expected` (undefined: the slot must not
   * exist). Returns the slot's new revision (what `get` would now return, so a writer need not
   * read its own write back), or undefined, writing nothing, when another writer got there first.
   * Revisions are positive.
   */
  compareAndSet(
    recordId: Uint8Array,
    expected: bigint | undefined,
    next: { committed?: Uint8Array; intent?: Uint8Array },
  ): Promise<bigint | undefined>;
  /** Every record id in the store (for repair and audits), in no particular order. */
  ids(): AsyncIterable<Uint8Array>;
  /**
   * A cheap probe that the store answers right now, for a node's readiness (docs/OPERATIONS.md
   * "Health and readiness"): resolves, or rejects with UnavailableError saying why. Reads no record.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}
