// The Node deflate codec (src/client/node/zlib-codec.ts; docs/BACKUP.md "When something fails"):
// a source that fails reaches whoever reads the output, as that same error, in both directions —
// it used to escape as an uncaught 'error' event that killed the process (and this test run) — and
// a reader that stops early stops the source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zlibCodec } from '../../../src/client/node/zlib-codec.ts';
import { eventually } from '../../helpers/eventually.ts';

class SourceFailed extends Error {}

async function* failingAfter(pieces: number, finished: { value: boolean }): AsyncGenerator<Uint8Array> {
  try {
    for (let i = 0; i < pieces; i++) yield new Uint8Array(64 * 1024).fill(i);
    throw new SourceFailed('the source failed');
  } finally {
    finished.value = true;
  }
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of source);
}

describe('zlibCodec', () => {
  it('compress: a failing source rejects the reader with its own error', async () => {
    await assert.rejects(drain(zlibCodec.compress(failingAfter(8, { value: false }))), SourceFailed);
  });

  it('decompress: a failing source rejects the reader with its own error', async () => {
    async function* deflatedThenFailing(): AsyncGenerator<Uint8Array> {
      for await (const piece of zlibCodec.compress(failingAfter(0, { value: false }))) yield piece;
    }
    await assert.rejects(drain(zlibCodec.decompress(deflatedThenFailing())), SourceFailed);
  });

  it('a reader that stops early stops the source', async () => {
    const finished = { value: false };
    for await (const _ of zlibCodec.compress(failingAfter(1000, finished))) break;
    // pipeline() destroys the source asynchronously, once the reader has let go.
    await eventually(
      async () => finished.value,
      (done) => done,
      'the source is stopped',
    );
  });
});
