// Repository key schedule (docs/FORMAT.md §12.2): every key comes from K by HKDF-SHA256, salted
// with the repository id, each under its own label, so no key serves two purposes and no two
// repositories share a key even under one K (objects cannot be mixed between them).
import type { FormatCrypto } from '../../format/crypto.ts';
import type { BackupKey } from '../../format/key.ts';

export const LABEL_REPO_KEY_CHECK = 'strongroom/v1/repo/key-check';
export const LABEL_REPO_CHUNK_ID = 'strongroom/v1/repo/chunk-id';
export const LABEL_REPO_GEAR = 'strongroom/v1/repo/gear';
export const LABEL_REPO_DATA = 'strongroom/v1/repo/data';
export const LABEL_REPO_METADATA = 'strongroom/v1/repo/metadata';

export const REPOSITORY_ID_LENGTH = 16;
export const REPO_KEY_CHECK_LENGTH = 16;

/** The secrets of one repository, derived from K and its id. Zero them with `destroyRepositoryKeys`. */
export interface RepositoryKeys {
  /** Public: tells a wrong K from the right one before anything is decrypted. */
  readonly keyCheck: Uint8Array;
  /** HMAC-SHA256 key of chunk ids (ids of plaintext the store cannot compute). */
  readonly chunkIdKey: Uint8Array;
  /** Seed of the content-defined chunker's gear table. */
  readonly gearSeed: Uint8Array;
  /** AES-256-GCM key of chunk blobs inside packs. */
  readonly dataKey: Uint8Array;
  /** AES-256-GCM key of pack headers, indexes and snapshots. */
  readonly metadataKey: Uint8Array;
}

export async function deriveRepositoryKeys(
  crypto: FormatCrypto,
  key: BackupKey,
  repositoryId: Uint8Array,
): Promise<RepositoryKeys> {
  if (repositoryId.length !== REPOSITORY_ID_LENGTH) {
    throw new RangeError(`repository id is ${repositoryId.length} bytes`);
  }
  const k = key.exposeBytes();
  const derive = (label: string, length = 32) => crypto.hkdfSha256(k, repositoryId, label, length);
  return {
    keyCheck: await derive(LABEL_REPO_KEY_CHECK, REPO_KEY_CHECK_LENGTH),
    chunkIdKey: await derive(LABEL_REPO_CHUNK_ID),
    gearSeed: await derive(LABEL_REPO_GEAR),
    dataKey: await derive(LABEL_REPO_DATA),
    metadataKey: await derive(LABEL_REPO_METADATA),
  };
}

/** Zeroes the secret keys (the key-check value is public); only once nothing uses them. */
export function destroyRepositoryKeys(keys: RepositoryKeys): void {
  keys.chunkIdKey.fill(0);
  keys.gearSeed.fill(0);
  keys.dataKey.fill(0);
  keys.metadataKey.fill(0);
}
