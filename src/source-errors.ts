// Telling a failure of a stream's source from one of its consumer (docs/BACKUP.md "When something
// fails"): a consumer that gives up (an S3 upload whose server went away, an inflater fed bad bytes)
// may throw its own error into the source's iterator, and that must not be mistaken for the source
// failing. Browser-safe.

/** `source` as an async iterable that remembers an error `source` itself raised. */
export function watchSource(source: AsyncIterable<Uint8Array>): {
  readonly pieces: AsyncIterable<Uint8Array>;
  /** The error the source raised, if it did; undefined when the source was fine. */
  failure(): unknown;
} {
  let failure: unknown;
  async function* pieces(): AsyncGenerator<Uint8Array> {
    const iterator = source[Symbol.asyncIterator]();
    let done = false;
    try {
      while (!done) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await iterator.next();
        } catch (error) {
          failure = error;
          done = true; // a failed iterator is finished: no return() call
          throw error;
        }
        done = next.done === true;
        if (!done) yield next.value;
      }
    } finally {
      if (!done) await iterator.return?.();
    }
  }
  return { pieces: pieces(), failure: () => failure };
}
