// A pack's upload, streamed to its store while the writer fills it (docs/FORMAT.md §12.8;
// docs/ARCHITECTURE.md "Memory"). The pack's header comes last in the object (§12.5), so its blobs
// can be sent as they are sealed: memory then holds what the store has not taken yet, at most
// QUEUED_BYTES_MAX and one piece, rather than the whole pack. The store's put sees one async
// iterable as it does for any object; the object appears under its name only once the iterable
// ends (BlobStore.put), so a pack abandoned half-way is never listed.
import type { BlobStore } from '../../stores/blob/blob-store.ts';

/** Bytes queued for the store past which `write` waits for it to take them. */
const QUEUED_BYTES_MAX = 2 * 1024 * 1024;

export class PackUpload {
  readonly #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #ended = false;
  #abandoned: Error | undefined;
  /** Set while the store waits for pieces (the iterable is empty) or `write` waits for room. */
  #wake: (() => void) | undefined;
  /** The put's outcome: the bytes stored. */
  readonly stored: Promise<number>;
  /** The put's error, once it failed. */
  #failed: { readonly error: unknown } | undefined;

  constructor(store: BlobStore, name: string) {
    this.stored = store.put(name, this.#pieces());
    this.stored.then(undefined, (error: unknown) => {
      this.#failed = { error };
      this.#notify();
    });
  }

  /** Queues `pieces` (which the caller must not change after); waits while too much is queued. */
  async write(pieces: readonly Uint8Array[]): Promise<void> {
    for (const piece of pieces) {
      this.#queue.push(piece);
      this.#queuedBytes += piece.length;
    }
    this.#notify();
    while (this.#queuedBytes > QUEUED_BYTES_MAX && this.#failed === undefined) await this.#wait();
    if (this.#failed !== undefined) throw this.#failed.error;
  }

  /** Queues the pack's last pieces and ends it; resolves with the bytes stored once the store has it. */
  end(pieces: readonly Uint8Array[]): Promise<number> {
    for (const piece of pieces) this.#queue.push(piece);
    this.#ended = true;
    this.#notify();
    return this.stored;
  }

  /** Ends the put with `reason`, so the store discards what it was given (the writer failed). */
  abandon(reason: Error): void {
    if (this.#ended) return;
    this.#abandoned = reason;
    this.#ended = true;
    this.#queue.length = 0;
    this.#notify();
    this.stored.catch(() => {}); // the writer's own failure is what its caller sees
  }

  async *#pieces(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const piece = this.#queue.shift();
      if (piece !== undefined) {
        this.#queuedBytes -= piece.length;
        this.#notify();
        yield piece;
        continue;
      }
      if (this.#abandoned !== undefined) throw this.#abandoned;
      if (this.#ended) return;
      await this.#wait();
    }
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
