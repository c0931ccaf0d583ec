// What `strongroom backup` prints for scripts and people (README "The CLI"): --json with sizes as
// numbers on `backup create` and `backup list` with a store (a snapshot's fields), and S3 problems said as what they are
// (no credentials, no bucket, unreachable), without the AWS SDK's Node-version notice. Against a
// real local S3 server (s3rver).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { type LocalS3, startLocalS3 } from '../stores/blob/s3rver.ts';

let work: string;
let source: string;
let keyFile: string;
let s3: LocalS3;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-cli-output-'));
  source = join(work, 'chat');
  await mkdir(source);
  await writeFile(join(source, 'messages.db'), Buffer.alloc(300_000, 7));
  keyFile = join(work, 'key.txt');
  assert.equal((await runCli(['keygen', '-o', keyFile])).code, 0);
  s3 = await startLocalS3(['backups']);
});
after(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});

describe('backup output', () => {
  it('--json on create and list gives the id, sizes in bytes and the time', async () => {
    const store = join(work, 'store');
    const create = await runCli(['backup', 'create', source, '--key-file', keyFile, '--to', store, '--json']);
    assert.equal(create.code, 0, create.stderr);
    const created = JSON.parse(create.stdout);
    assert.deepEqual(Object.keys(created), [
      'kind',
      'id',
      'created',
      'files',
      'size',
      'added',
      'paths',
      'location',
    ]);
    assert.equal(created.kind, 'snapshot');
    assert.match(created.id, /^[0-9a-f]{32}$/);
    assert.equal(created.files, 1);
    assert.equal(created.size, 300_000);
    assert.equal(typeof created.added, 'number');
    assert.ok(created.added > 0, `${created.added}`);
    assert.ok(!Number.isNaN(Date.parse(created.created)), created.created);
    assert.deepEqual(created.paths, [source]);
    assert.equal(created.location, store);
    const list = await runCli(['backup', 'list', '--from', store, '--key-file', keyFile, '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), [created]);
    await mkdir(join(work, 'empty'));
    const empty = await runCli(['backup', 'list', '--from', join(work, 'empty'), '--json']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout), []);
  });

  it('S3 commands print no AWS SDK notice about Node versions', async () => {
    const list = await runCli(['backup', 'list', '--from', 's3://backups/x', '--s3-endpoint', s3.endpoint], {
      env: s3.env,
    });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stderr, 'no backups in s3://backups/x\n');
  });

  it('a missing bucket is named, with what to check', async () => {
    const list = await runCli(['backup', 'list', '--from', 's3://nobucket/x', '--s3-endpoint', s3.endpoint], {
      env: s3.env,
    });
    assert.equal(list.code, 1, list.stderr);
    assert.equal(
      list.stderr,
      [
        "strongroom: error: the S3 bucket 'nobucket' of s3://nobucket/x does not exist",
        'strongroom: hint: create the bucket first, or check its name and --s3-endpoint / AWS_ENDPOINT_URL',
        '',
      ].join('\n'),
    );
  });

  it('missing credentials are said as such, not as an unreachable store', async () => {
    const list = await runCli(['backup', 'list', '--from', 's3://backups/x', '--s3-endpoint', s3.endpoint], {
      env: {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_PROFILE: undefined,
        // No shared credentials file and no instance metadata service to ask here.
        HOME: work,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    assert.equal(list.code, 1, list.stderr);
    assert.match(list.stderr, /^strongroom: error: no AWS credentials for S3 store s3:\/\/backups\/x\n/);
    assert.match(list.stderr, /^strongroom: hint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/m);
    assert.doesNotMatch(list.stderr, /could not be reached/);
  });

  it('an S3 server that is not there is "could not be reached" (exit 7)', async () => {
    const list = await runCli(
      ['backup', 'list', '--from', 's3://backups/x', '--s3-endpoint', 'http://127.0.0.1:9'],
      { env: s3.env },
    );
    assert.equal(list.code, 7, list.stderr);
    assert.match(
      list.stderr,
      /^strongroom: error: S3 store s3:\/\/backups\/x could not be reached: connect ECONNREFUSED 127\.0\.0\.1:9\nstrongroom: hint: /,
    );
  });
});
