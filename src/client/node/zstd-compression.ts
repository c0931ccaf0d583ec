// Compression of repository chunks on Node (docs/ARCHITECTURE.md, "Compression"): Zstandard through
// libzstd (zstd-napi). Its frames are read by the browser's decoder in src/client/repository/compression.ts.
import { Compressor, Decompressor } from 'zstd-napi';
import { type ChunkCompression, checkPlainLength, damagedChunk } from '../repository/compression.ts';

/** Level 3 is the default; docs/ARCHITECTURE.md, "Compression", gives the measurements behind it. */
export const DEFAULT_ZSTD_LEVEL = 3;

/** zstd at `level` (1..19). One compressor and decompressor context each, reused for every chunk. */
export function zstdCompression(level = DEFAULT_ZSTD_LEVEL): ChunkCompression {
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: level });
  const decompressor = new Decompressor();
  return {
    compress: (plain) => compressor.compress(plain),
    decompress(packed, plainLength) {
      checkPlainLength(plainLength);
      let plain: Uint8Array;
      try {
        plain = decompressor.decompress(packed);
      } catch (error) {
        throw damagedChunk(error);
      }
      if (plain.length !== plainLength) throw damagedChunk();
      return plain;
    },
  };
}
