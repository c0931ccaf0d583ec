// Archive compression on Node (docs/FORMAT.md "Archive"): deflate (RFC 1950) through node:zlib.
// The browser path is CompressionStream('deflate') in src/client/backup/web-codec.ts; both read
// each other's output.
import { Readable } from 'node:stream';
import { constants, createDeflate, createInflate } from 'node:zlib';
import type { Codec } from '../../format/archive.ts';

export const zlibCodec: Codec = {
  compress(source) {
    // Level 1: backups are mostly media that does not compress; speed matters more than ratio.
    return Readable.from(source, { objectMode: false }).pipe(
      createDeflate({ level: constants.Z_BEST_SPEED }),
    );
  },
  decompress(source) {
    return Readable.from(source, { objectMode: false }).pipe(createInflate());
  },
};
