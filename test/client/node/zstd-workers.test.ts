// zstd on worker threads (src/client/node/zstd-workers.ts): its frames decode, with libzstd and
// with the browser's fzstd, to exactly what went in; the caller's chunk is left intact whether it
// is a Buffer, a view into a larger buffer or a whole Uint8Array; many compressions in flight all
// come back to their own caller; and a closed pool fails what is pending instead of hanging.
// Whole snapshots through it: test/cli/repository.test.ts (the CLI's `backup snapshot`).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { zstdCompression } from '../../../src/client/node/zstd-compression.ts';
import { createWorkerZstdCompression } from '../../../src/client/node/zstd-workers.ts';
import { fzstdDecompression } from '../../../src/client/repository/compression.ts';

const workers = createWorkerZstdCompression(3, 2);
after(() => workers.close());

/** Compressible input: this file's source, repeated. */
const text = new Uint8Array(
  Buffer.concat(Array.from({ length: 30 }, () => readFileSync(new URL(import.meta.url)))),
);

describe('zstd workers', () => {
  it('keeps four blobs in flight for two workers', () => {
    assert.equal(workers.inFlight, 4);
    assert.ok(text.length > 65_536 + 40 * 997, 'the inputs below are large enough to go to a worker');
  });

  it('round-trips through both decoders and leaves every kind of caller buffer intact', async () => {
    const backing = Buffer.concat([
      Buffer.from(randomBytes(1000)),
      Buffer.from(text),
      Buffer.from(randomBytes(1000)),
    ]);
    const inputs: Uint8Array[] = [
      text,
      Buffer.from(text), // a Buffer, whose slice() would share memory
      backing.subarray(1000, 1000 + text.length), // a view into a larger buffer
      new Uint8Array(randomBytes(200_000)),
      new Uint8Array(0),
    ];
    for (const input of inputs) {
      const before = Buffer.from(input);
      const packed = await workers.compress(input);
      assert.deepEqual(Buffer.from(input), before, 'the caller still has its bytes');
      assert.deepEqual(Buffer.from(workers.decompress(packed, input.length)), before);
      assert.deepEqual(Buffer.from(fzstdDecompression.decompress(packed, input.length)), before);
    }
    assert.ok((await workers.compress(text)).length < text.length / 4, 'text compresses well');
    // Same level, same library: the same frame as compressing on this thread.
    assert.deepEqual(
      Buffer.from(await workers.compress(text)),
      Buffer.from(zstdCompression(3).compress(text)),
    );
  });

  it('answers each of many compressions in flight with its own frame', async () => {
    // All at least 64 KiB, the size from which blobs go to a worker.
    const inputs = Array.from({ length: 40 }, (_, i) => text.subarray(0, 65_536 + i * 997));
    const frames = await Promise.all(inputs.map((input) => workers.compress(input)));
    frames.forEach((frame, i) => {
      assert.deepEqual(Buffer.from(workers.decompress(frame, inputs[i]!.length)), Buffer.from(inputs[i]!));
    });
  });

  it('fails compressions pending when closed, rather than hanging', async () => {
    const closing = createWorkerZstdCompression(3, 1);
    const pending = closing.compress(new Uint8Array(randomBytes(8 * 1024 * 1024)));
    await closing.close();
    await assert.rejects(pending, /zstd workers? (closed|stopped)/);
    await assert.rejects(closing.compress(text), /zstd workers closed/);
  });
});
