// A fixed-size chunker for tests only: 256 KiB chunks, the seed unused. Tests that count chunks
// and packs, or check dedup of equal content at equal offsets, need boundaries they can predict;
// the content-defined chunker (src/client/repository/chunker.ts) has tests of its own.
import type { Chunker } from '../../../src/client/node/repository-backup.ts';

export const FIXED_CHUNK_SIZE = 256 * 1024;

export function fixedChunker(chunkSize = FIXED_CHUNK_SIZE): Chunker {
  let buffered: Uint8Array[] = [];
  let length = 0;
  const take = (count: number): Uint8Array => {
    const out = new Uint8Array(count);
    let at = 0;
    while (at < count) {
      const piece = buffered[0]!;
      const used = Math.min(piece.length, count - at);
      out.set(piece.subarray(0, used), at);
      at += used;
      if (used === piece.length) buffered.shift();
      else buffered[0] = piece.subarray(used);
    }
    length -= count;
    return out;
  };
  return {
    push(data) {
      buffered.push(data.slice());
      length += data.length;
      const chunks: Uint8Array[] = [];
      while (length >= chunkSize) chunks.push(take(chunkSize));
      return chunks;
    },
    finish() {
      if (length === 0) return undefined;
      const last = take(length);
      buffered = [];
      return last;
    },
  };
}
