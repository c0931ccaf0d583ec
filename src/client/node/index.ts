// The Strongroom client SDK, Node part (README "SDK"): node:crypto fast path, Node streams,
// backups of paths on disk, and the directory and S3 blob stores. Re-exports the browser-safe part.

export { DirectoryBlobStore } from '../../stores/blob/directory.ts';
export { type OpenStoreOptions, openBlobStore } from '../../stores/blob/open.ts';
export { S3BlobStore, type S3StoreOptions } from '../../stores/blob/s3.ts';
export * from '../index.ts';
export { type ArchivePlan, planArchive, readPlannedEntries, type SkippedEntry } from './archive-fs.ts';
export { writeFileAtomically } from './atomic-file.ts';
export {
  type CreateBackupOptions,
  type CreatedBackup,
  createBackup,
  type ProgressListener,
  type RestoreBackupOptions,
  restoreBackup,
} from './backup.ts';
export { checkDestination, type ExtractSummary, extractArchive } from './extract.ts';
export {
  type ReadOptions,
  readBackupBlocks,
  readFileBlocks,
  ringFor,
  writeAllTo,
  writeNewFile,
} from './file-io.ts';
export { nodeCrypto } from './node-crypto.ts';
export { decryptNodeStream, encryptNodeStream } from './streams.ts';
export { createWorkerCrypto, type WorkerCrypto } from './worker-crypto.ts';
export { zlibCodec } from './zlib-codec.ts';
