// The core's one optimisation (docs/PROTOCOL.md §8 "What a core keeps between requests"): the
// hashes of states whose quorum certificate this core has verified, so a state shown again (every
// transition's from-state, every answer) costs no signature checks. A state is certified once a
// quorum signed it, whichever certificate shows it later, so remembering the hash changes no answer.
// It holds no secret, and nothing a request in flight owns: only public hashes, in bounded memory.

export class CertifiedMemo {
  /** Insertion-ordered, so the oldest hash is the first one (forgotten past `limit`). */
  readonly #hashes = new Set<string>();

  /** `limit`: how many hashes to keep (64 hex characters each); 0 remembers nothing. */
  constructor(private readonly limit: number) {}

  /**
   * True if `stateHash` was verified before, or if `verify()` says so now (then it is remembered).
   * A failed verification is never remembered: the next certificate shown is checked in full.
   */
  verifiedOnce(stateHash: string, verify: () => boolean): boolean {
    if (this.#hashes.has(stateHash)) return true;
    if (!verify()) return false;
    this.#hashes.add(stateHash);
    if (this.#hashes.size > this.limit) {
      const oldest = this.#hashes.values().next();
      if (oldest.done !== true) this.#hashes.delete(oldest.value);
    }
    return true;
  }
}
