// What a device remembers per vault record (docs/PROTOCOL.md §10 "What a device remembers"): the incarnation and
// the highest certified version it has seen, so an older version, another incarnation without a
// verifiable change proof, or "no record" reads as possible tampering rather than a fresh start.
import { toHex } from '../../protocol/vault/bytes.ts';

export interface RememberedRecord {
  readonly incarnation: bigint;
  readonly highestVersion: bigint;
  /** `limit - guessesLeft` at this device's last successful recovery (for the user's warning). */
  readonly failedGuessesAtLastSuccess: number;
}

/** Where the memory lives: the CLI keeps it in the device directory, apps in their own storage. */
export interface RecordMemory {
  get(recordId: Uint8Array): Promise<RememberedRecord | undefined>;
  set(recordId: Uint8Array, record: RememberedRecord): Promise<void>;
  forget(recordId: Uint8Array): Promise<void>;
}

/** Memory for one process's lifetime (tests, short-lived tools). */
export class InMemoryRecordMemory implements RecordMemory {
  readonly #records = new Map<string, RememberedRecord>();
  async get(recordId: Uint8Array): Promise<RememberedRecord | undefined> {
    return this.#records.get(toHex(recordId));
  }
  async set(recordId: Uint8Array, record: RememberedRecord): Promise<void> {
    this.#records.set(toHex(recordId), record);
  }
  async forget(recordId: Uint8Array): Promise<void> {
    this.#records.delete(toHex(recordId));
  }
}
