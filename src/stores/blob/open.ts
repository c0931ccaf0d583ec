// Opens the blob store a STORE argument names (README "CLI"): `s3://bucket/prefix` or a directory.
// The S3 store is loaded only when asked for: the AWS SDK takes about a second to import.
import type { BlobStore } from './blob-store.ts';
import { DirectoryBlobStore } from './directory.ts';

/**
 * The account's own storage on the server, through ChatD, as a store spec: opened by a device's
 * session (src/client/node/chatd-session.ts), never by openBlobStore, which has no account.
 */
export const CHATD_STORE = 'chatd:';

export interface OpenStoreOptions {
  /** S3 endpoint; AWS_ENDPOINT_URL when absent. */
  s3Endpoint?: string;
}

export async function openBlobStore(spec: string, options: OpenStoreOptions = {}): Promise<BlobStore> {
  if (spec.startsWith('s3://')) {
    const { S3BlobStore } = await import('./s3.ts');
    return new S3BlobStore(spec, { endpoint: options.s3Endpoint ?? process.env.AWS_ENDPOINT_URL });
  }
  return new DirectoryBlobStore(spec);
}
