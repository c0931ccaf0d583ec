// Archive compression in a browser (docs/FORMAT.md "Archive"): deflate (RFC 1950) through
// CompressionStream. Node uses node:zlib (src/client/node/zlib-codec.ts); the bytes are compatible.
import type { Codec } from '../../format/archive.ts';
import { fromWebStream, toWebStream } from './web-streams.ts';

// The DOM typings give CompressionStream a BufferSource writable side; it accepts Uint8Array.
type BytePair = ReadableWritablePair<Uint8Array, Uint8Array>;

export const webCodec: Codec = {
  compress: (source) =>
    fromWebStream(toWebStream(source).pipeThrough(new CompressionStream('deflate') as unknown as BytePair)),
  decompress: (source) =>
    fromWebStream(toWebStream(source).pipeThrough(new DecompressionStream('deflate') as unknown as BytePair)),
};
