// `strongroom/client/node`, the SDK's Node part (docs/API.md "strongroom/client/node"): backups and
// repository snapshots of paths on disk, the directory and S3 blob stores, the node:crypto fast
// path, Node streams and the WebSocket ChatD needs on Node 20. It re-exports
// `strongroom/client` and `strongroom/client/repository`, so one import serves.
export { DirectoryBlobStore } from '../../stores/blob/directory.ts';
export { type OpenStoreOptions, openBlobStore } from '../../stores/blob/open.ts';
export { S3BlobStore, type S3StoreOptions } from '../../stores/blob/s3.ts';
export * from '../index.ts';
export * from '../repository/index.ts';
export type { ArchivePlan, SkippedEntry } from './archive-fs.ts';
export {
  type CreateBackupOptions,
  type CreatedBackup,
  createBackup,
  type ProgressListener,
  type RestoreBackupOptions,
  restoreBackup,
} from './backup.ts';
export { openNodeSocket } from './chatd-socket.ts';
export type { ExtractSummary } from './extract.ts';
export { nodeCrypto } from './node-crypto.ts';
export {
  type Chunker,
  type ChunkerFactory,
  createSnapshot,
  type RestoreSnapshotOptions,
  restoreSnapshot,
  type SnapshotOptions,
} from './repository-backup.ts';
export { decryptNodeStream, encryptNodeStream } from './streams.ts';
export { zlibCodec } from './zlib-codec.ts';
