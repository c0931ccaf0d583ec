// Archive compression on Node (docs/FORMAT.md "Archive"): deflate (RFC 1950) through node:zlib.
// The browser path is CompressionStream('deflate') in src/client/backup/web-codec.ts; both read
// each other's output.
import { pipeline, type Transform } from 'node:stream';
import { constants, createDeflate, createInflate } from 'node:zlib';
import type { Codec } from '../../format/archive.ts';
import { inflatedArchive } from '../backup/web-codec.ts';

/**
 * `source` through `transform`, as an async iterable. pipeline() destroys every stage with the first
 * error, so whoever iterates the result gets that error (a damaged chunk under it, a file that
 * failed to read), and stopping early destroys the source. `.pipe()` would leave the source's error
 * as an uncaught 'error' event that kills the process (docs/BACKUP.md "When something fails").
 */
function through(source: AsyncIterable<Uint8Array>, transform: Transform): AsyncIterable<Uint8Array> {
  // The error reaches the caller through `transform`; the callback only has to exist.
  return pipeline(source, transform, () => {});
}

export const zlibCodec: Codec = {
  // Level 1: backups are mostly media that does not compress; speed matters more than ratio.
  compress: (source) => through(source, createDeflate({ level: constants.Z_BEST_SPEED })),
  decompress: (source) => inflatedArchive(source, (watched) => through(watched, createInflate())),
};
