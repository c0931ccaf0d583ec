// Opens the blob store a STORE argument names (README "CLI"): `s3://bucket/prefix` or a directory.
import type { BlobStore } from './blob-store.ts';
import { DirectoryBlobStore } from './directory.ts';
import { S3BlobStore } from './s3.ts';

export interface OpenStoreOptions {
  /** S3 endpoint; AWS_ENDPOINT_URL when absent. */
  s3Endpoint?: string;
}

export function openBlobStore(spec: string, options: OpenStoreOptions = {}): BlobStore {
  if (spec.startsWith('s3://')) {
    return new S3BlobStore(spec, { endpoint: options.s3Endpoint ?? process.env.AWS_ENDPOINT_URL });
  }
  return new DirectoryBlobStore(spec);
}
