// Compression of repository chunks on Node (docs/ARCHITECTURE.md, "Compression"; docs/FORMAT.md
// §12.5): Zstandard through libzstd (zstd-napi). Its frames are read by the browser's decoder in
// src/client/repository/compression.ts.

import { Compressor } from 'zstd-napi';
import binding from 'zstd-napi/binding.js';
import { type ChunkCompression, checkPlainLength, damagedChunk } from '../repository/compression.ts';

/** docs/ARCHITECTURE.md, "Compression", gives the measurements behind the default level. */
export const DEFAULT_ZSTD_LEVEL = 3;

/** A ChunkCompression that answers at once (libzstd on this thread). */
export interface SyncChunkCompression extends ChunkCompression {
  compress(plain: Uint8Array): Uint8Array;
  decompress(packed: Uint8Array, plainLength: number): Uint8Array;
}

/** zstd at `level` (1..19). One compressor and decompressor context each, reused for every chunk. */
export function zstdCompression(level = DEFAULT_ZSTD_LEVEL): SyncChunkCompression {
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: level });
  const decompressor = new binding.DCtx();
  return {
    compress: (plain) => compressor.compress(plain),
    decompress(packed, plainLength) {
      checkPlainLength(plainLength);
      // Into a buffer of exactly the recorded length, never the size the frame claims: libzstd
      // fails when the output would not fit, so a forged frame cannot make us allocate more
      // (docs/FORMAT.md §12.5).
      const plain = Buffer.allocUnsafe(plainLength);
      let written: number;
      try {
        written = decompressor.decompress(plain, packed);
      } catch (error) {
        throw damagedChunk(error);
      }
      if (written !== plainLength) throw damagedChunk();
      return plain;
    },
  };
}
