// Starts a real local S3-compatible server (s3rver) on a loopback port for the S3 store tests, with
// dummy credentials in the environment as the AWS SDK expects (s3rver accepts any signature).
//
// s3rver keeps unfinished multipart uploads (in BUCKET/._S3rver_uploads/UPLOAD-ID/, a file `key`
// and one file per part) but answers ListMultipartUploads with NotImplemented and refuses
// AbortMultipartUpload. Those two calls are added here, in front of its routes, on its own files:
// the tests of interrupted uploads need to see and abort what it really holds.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
}
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  /** Koa's middleware list: s3rver is a Koa application. */
  middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[];
}
// s3rver ships no types; this is the part of its API used here.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => S3rverInstance;

export interface LocalS3 {
  endpoint: string;
  /** Credentials and region for a child process (the CLI). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalS3(buckets: string[]): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), 'strongroom-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  server.middleware.unshift(multipartUploadCalls(directory));
  const { port } = await server.run();
  const env = { ...DUMMY_ENV };
  Object.assign(process.env, env);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    env,
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The keys of the unfinished multipart uploads under `prefix`, as ListMultipartUploads lists them. */
export async function unfinishedUploads(endpoint: string, bucket: string, prefix = ''): Promise<string[]> {
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
  try {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    return (page.Uploads ?? []).map((upload) => upload.Key!);
  } finally {
    client.destroy();
  }
}

const DUMMY_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

/**
 * The same server in a child process (s3rver-process.ts), which `crash()` kills with SIGKILL: its
 * connections drop mid-transfer, as when a real server goes away. It leaves its files in tmpdir.
 */
export async function startCrashableS3(
  buckets: string[],
): Promise<{ endpoint: string; crash(): Promise<void> }> {
  Object.assign(process.env, DUMMY_ENV);
  const script = fileURLToPath(new URL('./s3rver-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...buckets], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  for await (const piece of child.stdout) {
    output += piece;
    if (output.includes('\n')) break;
  }
  const endpoint = output.trim();
  if (!endpoint.startsWith('http://')) throw new Error(`the S3 server process did not start: ${output}`);
  return {
    endpoint,
    async crash() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** ListMultipartUploads (GET /bucket?uploads) and AbortMultipartUpload (DELETE /bucket/key?uploadId). */
function multipartUploadCalls(directory: string) {
  return async (ctx: KoaContext, next: () => Promise<void>) => {
    const [bucket, ...rest] = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
    const uploads = join(directory, bucket ?? '', '._S3rver_uploads');
    if (ctx.method === 'GET' && rest.length === 0 && 'uploads' in ctx.query) {
      const prefix = String(ctx.query.prefix ?? '');
      const found: string[] = [];
      for (const id of await readdir(uploads).catch(() => [] as string[])) {
        const key = await readFile(join(uploads, id, 'key'), 'utf8').catch(() => null);
        if (key === null || !key.startsWith(prefix)) continue;
        const initiated = (await stat(join(uploads, id, 'key'))).mtime.toISOString();
        found.push(
          `<Upload><Key>${xml(key)}</Key><UploadId>${xml(id)}</UploadId><Initiated>${initiated}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
        );
      }
      ctx.type = 'application/xml';
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xml(bucket ?? '')}</Bucket><Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${found.join('')}</ListMultipartUploadsResult>`;
      return;
    }
    if (ctx.method === 'DELETE' && rest.length > 0 && typeof ctx.query.uploadId === 'string') {
      const id = ctx.query.uploadId;
      if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`bad upload id ${id}`);
      await rm(join(uploads, id), { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    await next();
  };
}
