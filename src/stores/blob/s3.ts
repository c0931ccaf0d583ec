// A blob store on the S3 API (docs/BACKUP.md "Back up and restore"): `s3://bucket/prefix`, streaming multipart upload
// through @aws-sdk/lib-storage, path-style addressing so any S3-compatible server works. A
// multipart upload becomes visible only when completed, so readers never see half a blob.

import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { messageOf, StrongroomError, UnavailableError, UsageError } from '../../errors.ts';
import { watchSource } from '../../source-errors.ts';
import { onInterrupt } from '../../temporaries.ts';
import { type BlobInfo, BlobNotFoundError, type BlobStore, checkBlobName } from './blob-store.ts';

/** Multipart part size: memory used by an upload is about PART_SIZE × QUEUE_SIZE. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;
/**
 * An unfinished multipart upload under the store's prefix that started this long ago belongs to a
 * run that died (docs/BACKUP.md "Interrupted runs"): a put aborts it. S3 shows no owner that could
 * be checked for liveness, so age is the test; a day is far longer than any backup takes.
 */
const ABANDONED_UPLOAD_AGE_MS = 24 * 60 * 60 * 1000;

export interface S3StoreOptions {
  /** e.g. http://127.0.0.1:9000; AWS's own endpoint when absent. */
  endpoint?: string;
  /** AWS_REGION, else us-east-1 (S3-compatible servers mostly ignore it). */
  region?: string;
  /** Age from which an unfinished multipart upload counts as abandoned; a day when absent. */
  abandonedUploadAgeMs?: number;
}

/** Splits `s3://bucket/prefix` into bucket and key prefix (without a trailing slash). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (match === null) {
    throw new UsageError(`not an S3 location: ${JSON.stringify(url)}`, {
      hints: ['write it as s3://bucket or s3://bucket/prefix'],
    });
  }
  return { bucket: match[1]!, prefix: (match[2] ?? '').replace(/\/+$/, '') };
}

export class S3BlobStore implements BlobStore {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #abandonedUploadAgeMs: number;

  constructor(url: string, options: S3StoreOptions = {}) {
    const { bucket, prefix } = parseS3Url(url);
    this.location = url;
    this.#abandonedUploadAgeMs = options.abandonedUploadAgeMs ?? ABANDONED_UPLOAD_AGE_MS;
    this.#bucket = bucket;
    this.#prefix = prefix === '' ? '' : `${prefix}/`;
    // The SDK's documented switch for its 9-line notice that SDK versions after January 2027 need
    // Node 22: printed on every command, and nothing a user of this version can act on.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: true,
      // Checksums only where S3 requires them: the blobs are AEAD-protected end to end, and many
      // S3-compatible servers do not understand the SDK's newer default trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    checkBlobName(name);
    await this.#abortAbandonedUploads();
    let written = 0;
    const source = watchSource(data);
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const piece of source.pieces) {
        written += piece.length;
        yield piece;
      }
    }
    const key = this.#prefix + name;
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: key, Body: Readable.from(counted()) },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    // Interrupted (SIGINT, SIGTERM): stop sending parts and abort the upload, so its parts stop
    // costing storage. lib-storage would abort it too, but only once the parts in flight are done.
    const forget = onInterrupt(async () => {
      await upload.abort();
      // The upload id is known once lib-storage has seen the server's answer to its creation; an
      // answer still on its way is found by listing (the key is this backup's alone).
      if (upload.uploadId !== undefined) await this.#abortUpload(key, upload.uploadId);
      else await this.#abortUploads(key, (_, listed) => listed === key);
    });
    try {
      await this.#call(() => upload.done());
    } catch (error) {
      // lib-storage aborts the multipart upload when the data fails; an S3 server that refuses the
      // abort would otherwise hide the real cause. An unfinished upload is never a visible object.
      throw source.failure() ?? error;
    } finally {
      forget();
    }
    return written;
  }

  /**
   * Aborts the unfinished multipart uploads under the prefix that look abandoned (see
   * ABANDONED_UPLOAD_AGE_MS). Best effort: a server that cannot list them, or credentials that may
   * not, leave them to the bucket's lifecycle rule (docs/BACKUP.md "Interrupted runs"), and the put
   * goes on.
   */
  async #abortAbandonedUploads(): Promise<void> {
    const before = Date.now() - this.#abandonedUploadAgeMs;
    await this.#abortUploads(this.#prefix, (initiated) => initiated <= before).catch(() => {});
  }

  /** Aborts the unfinished multipart uploads of keys starting with `prefix` that `which` picks. */
  async #abortUploads(prefix: string, which: (initiated: number, key: string) => boolean): Promise<void> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.#client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.#bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        if (upload.Key === undefined || upload.UploadId === undefined) continue;
        if (which(upload.Initiated?.getTime() ?? 0, upload.Key))
          await this.#abortUpload(upload.Key, upload.UploadId);
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
  }

  async #abortUpload(key: string, uploadId: string): Promise<void> {
    await this.#client.send(
      new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }),
    );
  }

  async *get(name: string): AsyncGenerator<Uint8Array> {
    checkBlobName(name);
    const response = await this.#call(
      () => this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + name })),
      name,
    );
    try {
      yield* response.Body as Readable;
    } catch (error) {
      // The server went away mid-transfer: the stream fails with a bare "aborted" or ECONNRESET.
      throw this.#unreachable(error);
    }
  }

  async list(prefix = ''): Promise<BlobInfo[]> {
    const blobs: BlobInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.#call(() =>
        this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#prefix + prefix,
            Delimiter: '/',
            ContinuationToken: token,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const name = object.Key!.slice(this.#prefix.length);
        blobs.push({ name, size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return blobs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<void> {
    checkBlobName(name);
    await this.#call(() =>
      this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + name })),
    );
  }

  /** Closes the client's connections. */
  destroy(): void {
    this.#client.destroy();
  }

  /**
   * Runs one S3 call, turning "no such key", a missing bucket, missing credentials and network
   * failures into Strongroom's outcomes, each with what to check.
   */
  async #call<T>(run: () => Promise<T>, name?: string): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const errorName = (error as { name?: string }).name;
      if (errorName === 'CredentialsProviderError') {
        throw new StrongroomError(`no AWS credentials for S3 store ${this.location}`, {
          cause: error,
          hints: ['set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for the S3 server'],
        });
      }
      if (errorName === 'NoSuchBucket') {
        throw new StrongroomError(`the S3 bucket '${this.#bucket}' of ${this.location} does not exist`, {
          cause: error,
          hints: ['create the bucket first, or check its name and --s3-endpoint / AWS_ENDPOINT_URL'],
        });
      }
      if (
        name !== undefined &&
        (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey')
      ) {
        throw new BlobNotFoundError(`no backup named ${name} in ${this.location}`, {
          hints: ['`strongroom backup list --from STORE` shows the backups there'],
        });
      }
      if (error instanceof S3ServiceException || error instanceof StrongroomError) throw error;
      throw this.#unreachable(error);
    }
  }

  /** A failure to talk to the server, named for the person reading it (docs/BACKUP.md "Exit codes"). */
  #unreachable(cause: unknown): UnavailableError {
    return new UnavailableError(`S3 store ${this.location} could not be reached: ${messageOf(cause)}`, {
      cause,
      hints: ['check --s3-endpoint / AWS_ENDPOINT_URL and that the server is running'],
    });
  }
}
