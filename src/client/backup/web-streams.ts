// Adapters between WHATWG streams and the async iterables the format code works on (the SDK's
// web-stream entry points, README "SDK"). Node streams are async iterables already.

/** Reads a ReadableStream as an async iterable (Safari's streams are not iterable). */
export async function* fromWebStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Cancels the source when the consumer stops early; harmless after the end.
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Exposes an async iterable as a ReadableStream that pulls on demand (constant memory). */
export function toWebStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
