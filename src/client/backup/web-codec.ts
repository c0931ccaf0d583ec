// Archive compression in a browser (docs/FORMAT.md "Archive"): deflate (RFC 1950) through
// CompressionStream. Node uses node:zlib (src/client/node/zlib-codec.ts); the bytes are compatible.
import { DamagedBackupError } from '../../errors.ts';
import type { Codec } from '../../format/archive.ts';
import { watchSource } from '../../source-errors.ts';
import { fromWebStream, toWebStream } from './web-streams.ts';

// The DOM typings give CompressionStream a BufferSource writable side; it accepts Uint8Array.
type BytePair = ReadableWritablePair<Uint8Array, Uint8Array>;

/**
 * The output of `inflate(source)`, where an error the decompressor raises itself (bytes that do not
 * inflate) becomes a DamagedBackupError, and one from `source` (a chunk that failed to verify) passes
 * through as it is (docs/BACKUP.md "When something fails").
 */
export async function* inflatedArchive(
  source: AsyncIterable<Uint8Array>,
  inflate: (source: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const watched = watchSource(source);
  try {
    yield* inflate(watched.pieces);
  } catch (error) {
    if (watched.failure() !== undefined) throw watched.failure();
    // Each chunk verified before it was inflated, so these bytes were sealed with the right key,
    // by something other than a correct Strongroom.
    throw new DamagedBackupError("the backup's archive is malformed: its compressed body does not inflate", {
      cause: error,
      hints: [
        'it decrypted with your key, so it was made with it, but not by a correct Strongroom; nothing was kept',
      ],
    });
  }
}

export const webCodec: Codec = {
  compress: (source) =>
    fromWebStream(toWebStream(source).pipeThrough(new CompressionStream('deflate') as unknown as BytePair)),
  decompress: (source) =>
    inflatedArchive(source, (watched) =>
      fromWebStream(
        toWebStream(watched).pipeThrough(new DecompressionStream('deflate') as unknown as BytePair),
      ),
    ),
};
