// `strongroom/client/repository`, the SDK's repositories (docs/API.md "strongroom/client/repository";
// docs/FORMAT.md §12): open or create a repository in any BlobStore, list its snapshots, read
// verified trees and chunks, write snapshots of content the app supplies, check, forget and prune.
// Browser-safe: imports no node: module and nothing server-side (scripts/check-boundaries.mjs), and
// nothing `strongroom/client`'s encrypt-only bundle loads comes with it unless imported. Walking and
// restoring paths on disk is Node's: `createSnapshot` and `restoreSnapshot` in ../node/index.ts.
export {
  type BrowseOptions,
  listSnapshot,
  type SnapshotEntry,
  type SnapshotListing,
  snapshotEntries,
} from './browse.ts';
export { type CheckOptions, type CheckReport, checkRepository } from './check.ts';
export { type ChunkSizes, ContentDefinedChunker, DEFAULT_CHUNK_SIZES } from './chunker.ts';
export { type ChunkCompression, type ChunkDecompression, fzstdDecompression } from './compression.ts';
export { escapeName, escapePath, parseEscapedName, splitSnapshotPath } from './escaped-names.ts';
export { LockLapsedError } from './lock.ts';
export { ObjectType } from './objects.ts';
export {
  forgetSnapshots,
  keptSnapshots,
  type PruneReport,
  pruneRepository,
  RepositoryBusyError,
  type RetentionPolicy,
} from './prune.ts';
export { RepositoryReader } from './reader.ts';
export {
  type BlobLocation,
  Repository,
  type RepositoryOptions,
  type SnapshotBody,
  type SnapshotInfo,
} from './repository.ts';
export {
  type AbandonedUploads,
  type AccountUsage,
  keepWithinQuota,
  measureUpload,
  QuotaTooSmallError,
  type RetentionAccount,
  type RetentionOptions,
  type RetentionReport,
  retainedBytes,
  type UploadMark,
  UploadTracker,
} from './retention.ts';
export { encodeTree, type Tree, type TreeEntry } from './tree.ts';
export { RepositoryWriter } from './writer.ts';
export { withWriterLock } from './writer-lock.ts';
