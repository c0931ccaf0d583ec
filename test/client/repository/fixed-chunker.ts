// A fixed-size chunker for these tests only, standing in until the content-defined one
// (src/client/repository/chunker.ts) is merged: 256 KiB chunks, the seed unused. Fixed sizes are
// enough for what these tests check (dedup of equal content at equal offsets, appends at the end).
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
