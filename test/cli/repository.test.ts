// `strongroom backup snapshot | snapshots | restore-snapshot | check` (src/cli/commands/backup-repository.ts;
// docs/FORMAT.md §12) on a directory repository with the real content-defined chunker: a second
// snapshot of an unchanged tree uploads almost nothing, a grown database only its end, a restore
// is exact, check finds damage with exit 5, a wrong key is exit 6, and a run killed with SIGKILL
// mid-upload leaves no snapshot and is resumed.
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { ExitCode } from '../../src/errors.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';

const MiB = 1024 * 1024;
let work: string;
let source: string;
let keyFile: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-cli-repository-'));
  source = join(work, 'chat');
  await mkdir(join(source, 'media'), { recursive: true });
  await writeFile(join(source, 'messages.db'), nodeCrypto.randomBytes(12 * MiB));
  const photo = nodeCrypto.randomBytes(2 * MiB);
  await writeFile(join(source, 'media', 'a.jpg'), photo);
  await writeFile(join(source, 'media', 'forwarded-a.jpg'), photo);
  keyFile = join(work, 'key.txt');
  await writeFile(keyFile, (await runCli(['keygen'])).stdout);
});
after(() => rm(work, { recursive: true, force: true }));

const snapshotJson = async (repo: string) => {
  const result = await runCli(['backup', 'snapshot', source, '--to', repo, '--key-file', keyFile, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { id: string; added: number; files: number };
};

describe('strongroom backup snapshot', () => {
  it('deduplicates across files and snapshots, restores exactly, and lists snapshots', async () => {
    const repo = join(work, 'repo');
    const first = await snapshotJson(repo);
    assert.equal(first.files, 3);
    assert.ok(first.added < 14.5 * MiB, `first added ${first.added} (the forwarded photo is stored once)`);
    const unchanged = await snapshotJson(repo);
    assert.ok(unchanged.added < 1024, `unchanged snapshot added ${unchanged.added}`);
    await appendFile(join(source, 'messages.db'), nodeCrypto.randomBytes(100 * 1024));
    const grown = await snapshotJson(repo);
    // The database's last chunk or two are new (chunks are at most 8 MiB), the rest is found again.
    assert.ok(grown.added < 9 * MiB, `grown added ${grown.added}`);
    const listed = await runCli(['backup', 'snapshots', '--from', repo, '--key-file', keyFile]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0]),
      [first.id, unchanged.id, grown.id],
    );
    const to = join(work, 'restored');
    const restored = await runCli([
      'backup',
      'restore-snapshot',
      '--from',
      repo,
      '--to',
      to,
      '--key-file',
      keyFile,
    ]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual((await compareTrees(source, join(to, 'chat'))).differences, []);
    const check = await runCli(['backup', 'check', '--from', repo, '--key-file', keyFile, '--read-data']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /0 problems/);
    // A single-stream backup in the same store still lists and restores, and is pointed out.
    const stream = await runCli([
      'backup',
      'create',
      join(source, 'media'),
      '--to',
      repo,
      '--key-file',
      keyFile,
    ]);
    assert.equal(stream.code, 0, stream.stderr);
    const both = await runCli(['backup', 'snapshots', '--from', repo, '--key-file', keyFile]);
    assert.match(both.stderr, /and 1 single-stream backups/);
    const old = await runCli(['backup', 'list', '--from', repo]);
    assert.equal(old.stdout.trim().split('\n').length, 1, old.stdout);
    const oldTo = join(work, 'restored-stream');
    const oldRestore = await runCli([
      'backup',
      'restore',
      '--from',
      repo,
      '--to',
      oldTo,
      '--key-file',
      keyFile,
    ]);
    assert.equal(oldRestore.code, 0, oldRestore.stderr);
    assert.deepEqual((await compareTrees(join(source, 'media'), join(oldTo, 'media'))).differences, []);
  });

  it('a wrong key is exit 6; a damaged pack fails check --read-data and the restore with exit 5', async () => {
    const repo = join(work, 'repo-damaged');
    await snapshotJson(repo);
    const otherKey = join(work, 'other-key.txt');
    await writeFile(otherKey, (await runCli(['keygen'])).stdout);
    const wrong = await runCli(['backup', 'snapshots', '--from', repo, '--key-file', otherKey]);
    assert.equal(wrong.code, ExitCode.wrongKey, wrong.stderr);
    // The largest pack holds the file chunks (trees fill small packs of their own: FORMAT.md §12.5).
    const packNames = (await readdir(repo)).filter((name) => name.startsWith('repo.pack.'));
    const sizes = await Promise.all(packNames.map(async (name) => (await stat(join(repo, name))).size));
    const pack = packNames[sizes.indexOf(Math.max(...sizes))]!;
    const bytes = await readFile(join(repo, pack));
    bytes[4096]! ^= 1;
    await writeFile(join(repo, pack), bytes);
    const check = await runCli([
      'backup',
      'check',
      '--from',
      repo,
      '--key-file',
      keyFile,
      '--read-data-subset',
      '100%',
    ]);
    assert.equal(check.code, ExitCode.damaged, check.stderr);
    const to = join(work, 'restored-damaged');
    const restored = await runCli([
      'backup',
      'restore-snapshot',
      '--from',
      repo,
      '--to',
      to,
      '--key-file',
      keyFile,
    ]);
    assert.equal(restored.code, ExitCode.damaged, restored.stderr);
    assert.deepEqual(await readdir(to).catch(() => []), []);
  });

  it('a run killed with SIGKILL after its first pack lists no snapshot; the next run uploads only the rest', async () => {
    const big = join(work, 'big');
    await mkdir(big);
    await writeFile(join(big, 'video.mp4'), nodeCrypto.randomBytes(48 * MiB));
    const repo = join(work, 'repo-killed');
    const run = startCli(['backup', 'snapshot', big, '--to', repo, '--key-file', keyFile, '--json']);
    const packs = async () =>
      (await readdir(repo).catch(() => [])).filter((name) => name.startsWith('repo.pack.'));
    await eventually(packs, (names) => names.length >= 1, 'the first pack is stored', 300_000);
    run.child.kill('SIGKILL');
    const killed = await run.result;
    assert.equal(killed.signal, 'SIGKILL');
    const stored = (await packs()).length;
    // Whatever the kill interrupted, what is listed is whole: check reads every byte of it.
    const check = await runCli(['backup', 'check', '--from', repo, '--key-file', keyFile, '--read-data']);
    assert.equal(check.code, 0, check.stderr);
    const resumed = await runCli(['backup', 'snapshot', big, '--to', repo, '--key-file', keyFile, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const added = (JSON.parse(resumed.stdout) as { added: number }).added;
    // Each pack kept holds at least 15 MiB of the file that is not uploaded again.
    const bound = 48 * MiB - 15 * MiB * Math.min(stored, 2) + 2 * MiB;
    assert.ok(added < bound, `resumed run added ${added} with ${stored} packs kept`);
    const to = join(work, 'restored-killed');
    assert.equal(
      (await runCli(['backup', 'restore-snapshot', '--from', repo, '--to', to, '--key-file', keyFile])).code,
      0,
    );
    assert.deepEqual((await compareTrees(big, join(to, 'big'))).differences, []);
  });

  it('forget --keep-last 1 then prune frees the old data; the kept snapshot restores', async () => {
    const repo = join(work, 'repo-prune');
    const old = join(work, 'old');
    await mkdir(old);
    await writeFile(join(old, 'old.bin'), nodeCrypto.randomBytes(3 * MiB));
    const run = (args: string[]) => runCli([...args, '--key-file', keyFile]);
    assert.equal((await run(['backup', 'snapshot', old, '--to', repo])).code, 0);
    const kept = await snapshotJson(repo);
    const forget = await run(['backup', 'forget', '--from', repo, '--keep-last', '1']);
    assert.equal(forget.code, 0, forget.stderr);
    assert.match(forget.stderr, /forgot 1 snapshots/);
    const prune = await run(['backup', 'prune', '--from', repo]);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stderr, /deleted 2 packs/, "the old snapshot's chunk pack and tree pack");
    const listed = await run(['backup', 'snapshots', '--from', repo, '--json']);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { id: string }[]).map((s) => s.id),
      [kept.id],
    );
    const check = await run(['backup', 'check', '--from', repo, '--read-data']);
    assert.equal(check.code, 0, check.stderr);
    const noPolicy = await run(['backup', 'forget', '--from', repo]);
    assert.equal(noPolicy.code, ExitCode.usage, noPolicy.stderr);
  });
});
