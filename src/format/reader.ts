// Reads exact byte counts from an async sequence of arbitrary-sized pieces without joining them:
// the chunker under the backup stream (docs/FORMAT.md "Chunks") and the archive reader. Holds at
// most one source piece beyond what the caller asked for, so memory stays constant.
import { concatBytes } from './crypto.ts';

export class PieceReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #pending: Uint8Array = new Uint8Array(0);
  #done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Ensures some bytes are pending unless the source is exhausted; returns false at the end. */
  async #fill(): Promise<boolean> {
    while (this.#pending.length === 0 && !this.#done) {
      const next = await this.#source.next();
      if (next.done) this.#done = true;
      else this.#pending = next.value;
    }
    return this.#pending.length > 0;
  }

  /**
   * Reads up to `length` bytes as a list of pieces (views into the source's buffers); fewer only
   * when the source ends. `total` is the number of bytes returned.
   */
  async read(length: number): Promise<{ pieces: Uint8Array[]; total: number }> {
    const pieces: Uint8Array[] = [];
    let total = 0;
    while (total < length && (await this.#fill())) {
      const take = Math.min(length - total, this.#pending.length);
      pieces.push(this.#pending.subarray(0, take));
      this.#pending = this.#pending.subarray(take);
      total += take;
    }
    return { pieces, total };
  }

  /** Reads exactly `length` bytes into one buffer, or returns null if the source ends first. */
  async readExact(length: number): Promise<Uint8Array | null> {
    const { pieces, total } = await this.read(length);
    return total < length ? null : concatBytes(pieces);
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  /** Stops the source early (an error or an abandoned read); safe to call more than once. */
  async close(): Promise<void> {
    if (!this.#done) {
      this.#done = true;
      await this.#source.return?.();
    }
  }
}
