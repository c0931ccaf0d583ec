// Small files read a few at a time during a snapshot (docs/ARCHITECTURE.md "Small files side by
// side"): a small file costs little CPU but several round trips to the thread pool (open, fstat,
// read, fstat, close), and one read at a time leaves the main thread idle through each of them.
// An optimisation only: createSnapshot keeps every entry in its walk order whatever order the reads
// finish in, and reads large files alone, so memory stays bounded as before.
import type { Chunker } from './repository-backup.ts';

/** Files at most this large (by the walk's lstat) are read side by side. */
export const SMALL_FILE_BYTES = 1024 * 1024;
/** Small files read at once. */
export const SMALL_FILES_IN_FLIGHT = 8;

/** Runs reads of small files side by side, each with a chunker of its own from a pool. */
export class FileReads {
  private readonly running = new Set<Promise<void>>();
  private readonly idle: Chunker[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly makeChunker: () => Chunker) {}

  /**
   * Starts `read` once fewer than SMALL_FILES_IN_FLIGHT run, and returns (without waiting for it)
   * the promise of its result, wrapped: awaiting a promise of a promise would wait for both.
   * Throws the error of an earlier read that failed, starting nothing.
   */
  async start<T>(read: (chunker: Chunker) => Promise<T>): Promise<{ readonly result: Promise<T> }> {
    while (this.running.size >= SMALL_FILES_IN_FLIGHT) await Promise.race(this.running);
    this.throwFailure();
    const chunker = this.idle.pop() ?? this.makeChunker();
    const result = read(chunker);
    const tracked: Promise<void> = result.then(
      () => {
        this.idle.push(chunker);
        this.running.delete(tracked);
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.running.delete(tracked);
      },
    );
    this.running.add(tracked);
    return { result };
  }

  /** Waits until no read runs; throws the error of one that failed. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.throwFailure();
  }

  /** Waits until no read runs, ignoring failures (before the run ends with an error of its own). */
  async settle(): Promise<void> {
    await Promise.all(this.running);
  }

  private throwFailure(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}
