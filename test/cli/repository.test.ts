// `strongroom backup create | list | restore | check | forget | prune` on repositories
// (src/cli/commands/backup-repository.ts; docs/BACKUP.md "Repositories"; docs/FORMAT.md §12) in a
// directory store and a real local S3 server (s3rver), with the real content-defined chunker: a
// second snapshot of an unchanged tree uploads almost nothing, a grown database only its end, a
// restore is exact, single-stream backups made before repositories still list and restore beside
// the snapshots, check finds damage with exit 5, a wrong key is exit 6, a run killed with SIGKILL
// mid-upload leaves no snapshot and is resumed, SIGINT exits 130 with no snapshot, and two runs at
// once both land; on a terminal the progress bars of create and restore run to the content's whole
// size, also when nothing is read, and are gone once the command ends.
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBackup } from '../../src/client/node/backup.ts';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { RACY_WINDOW_NS } from '../../src/client/node/parent-snapshot.ts';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { ExitCode } from '../../src/errors.ts';
import { BackupKey } from '../../src/format/key.ts';
import { DirectoryBlobStore } from '../../src/stores/blob/directory.ts';
import { runCli, startCli, stopAtFirstPack } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';
import { lastProgressBar, runCliInTerminal, screenAfterCli } from '../helpers/terminal.ts';
import { type LocalS3, startLocalS3 } from '../stores/blob/s3rver.ts';

const MiB = 1024 * 1024;
let work: string;
let source: string;
let keyFile: string;
let s3: LocalS3;

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
  s3 = await startLocalS3(['backups']);
});
after(async () => {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
});

interface CreatedJson {
  kind: string;
  id: string;
  created: string;
  files: number;
  size: number;
  added: number;
  location: string;
}

const withKey = (args: string[]) => runCli([...args, '--key-file', keyFile]);

const createJson = async (paths: string[], repo: string): Promise<CreatedJson> => {
  const result = await withKey(['backup', 'create', ...paths, '--to', repo, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as CreatedJson;
};

const listJson = async (repo: string) => {
  const result = await withKey(['backup', 'list', '--from', repo, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { kind: string; id: string }[];
};

const packsIn = async (repo: string) =>
  (await readdir(repo).catch(() => [] as string[])).filter((name) => name.startsWith('repo.pack.'));

describe('strongroom backup create into a repository', () => {
  it('deduplicates across files and snapshots, lists snapshots, restores exactly and one path', async () => {
    const repo = join(work, 'repo');
    const first = await createJson([source], repo);
    assert.equal(first.kind, 'snapshot');
    assert.match(first.id, /^[0-9a-f]{32}$/);
    assert.equal(first.files, 3);
    assert.equal(first.size, 16 * MiB);
    assert.equal(first.location, repo);
    assert.ok(first.added < 14.5 * MiB, `first added ${first.added} (the forwarded photo is stored once)`);
    const unchanged = await createJson([source], repo);
    assert.ok(unchanged.added < 1024, `unchanged snapshot added ${unchanged.added}`);
    await appendFile(join(source, 'messages.db'), nodeCrypto.randomBytes(100 * 1024));
    const grown = await createJson([source], repo);
    // The database's last chunk or two are new (chunks are at most 8 MiB), the rest is found again.
    assert.ok(grown.added < 9 * MiB, `grown added ${grown.added}`);

    const listed = await withKey(['backup', 'list', '--from', repo]);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.deepEqual(
      lines.map((line) => line.split(' ')[0]),
      [first.id, unchanged.id, grown.id],
    );
    assert.match(
      lines[0]!,
      /^[0-9a-f]{32} {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +3 files +16\.0 MiB {2}\+\d+\.\d MiB$/,
    );
    const withoutKey = await runCli(['backup', 'list', '--from', repo]);
    assert.equal(withoutKey.code, ExitCode.usage, withoutKey.stderr);
    assert.match(withoutKey.stderr, /^strongroom: error: no backup key given\nstrongroom: hint: /);

    const to = join(work, 'restored');
    const restored = await withKey(['backup', 'restore', '--from', repo, '--to', to]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stderr, new RegExp(`restored snapshot ${grown.id} into `));
    assert.deepEqual((await compareTrees(source, join(to, 'chat'))).differences, []);

    const mediaTo = join(work, 'restored-media');
    const media = await withKey([
      'backup',
      'restore',
      first.id,
      '--from',
      repo,
      '--to',
      mediaTo,
      '--path',
      'chat/media',
    ]);
    assert.equal(media.code, 0, media.stderr);
    assert.deepEqual((await compareTrees(join(source, 'media'), join(mediaTo, 'media'))).differences, []);
    assert.deepEqual(await readdir(mediaTo), ['media']);

    const check = await withKey(['backup', 'check', '--from', repo, '--read-data']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /checked 3 snapshots, .*: 0 problems/);

    const missing = await withKey([
      'backup',
      'restore',
      '0'.repeat(32),
      '--from',
      repo,
      '--to',
      join(work, 'x'),
    ]);
    assert.equal(missing.code, ExitCode.failure, missing.stderr);
    assert.match(missing.stderr, /^strongroom: error: no snapshot "0{32}"/m);
  });

  it('lists and restores a single-stream backup made before repositories, in the same store', async () => {
    const repo = join(work, 'repo-mixed');
    const key = BackupKey.parse(await readFile(keyFile, 'utf8'));
    // What `backup create` made before repositories: one .srb stream, written by the same library.
    const old = await createBackup([join(source, 'media')], { key, store: new DirectoryBlobStore(repo) });
    key.destroy();
    const onlyOld = await runCli(['backup', 'list', '--from', repo]);
    assert.equal(onlyOld.code, 0, onlyOld.stderr);
    assert.match(
      onlyOld.stdout,
      new RegExp(`^${old.id.replace('.', '\\.')}  .* UTC  single-stream backup +`),
    );
    const snapshot = await createJson([source], repo);
    assert.deepEqual(
      (await listJson(repo)).map((entry) => [entry.kind, entry.id]),
      [
        ['stream', old.id],
        ['snapshot', snapshot.id],
      ],
    );
    const oldTo = join(work, 'restored-stream');
    const oldRestore = await withKey(['backup', 'restore', old.id, '--from', repo, '--to', oldTo]);
    assert.equal(oldRestore.code, 0, oldRestore.stderr);
    assert.match(oldRestore.stderr, new RegExp(`restored backup ${old.id.replace('.', '\\.')}: `));
    assert.deepEqual((await compareTrees(join(source, 'media'), join(oldTo, 'media'))).differences, []);
    const pathOfStream = await withKey([
      'backup',
      'restore',
      old.id,
      '--from',
      repo,
      '--to',
      join(work, 'y'),
      '--path',
      'media',
    ]);
    assert.equal(pathOfStream.code, ExitCode.usage, pathOfStream.stderr);
    // The latest of both kinds is the snapshot.
    const latestTo = join(work, 'restored-latest');
    const latest = await withKey(['backup', 'restore', '--from', repo, '--to', latestTo]);
    assert.equal(latest.code, 0, latest.stderr);
    assert.match(latest.stderr, new RegExp(`restored snapshot ${snapshot.id}`));
  });

  it('creates, lists and restores through an S3 store', async () => {
    const repo = 's3://backups/repository';
    const args = ['--s3-endpoint', s3.endpoint, '--key-file', keyFile];
    const created = await runCli(['backup', 'create', source, '--to', repo, '--json', ...args], {
      env: s3.env,
    });
    assert.equal(created.code, 0, created.stderr);
    const { id, location } = JSON.parse(created.stdout) as CreatedJson;
    assert.equal(location, repo);
    const again = await runCli(['backup', 'create', source, '--to', repo, '--json', ...args], {
      env: s3.env,
    });
    assert.ok((JSON.parse(again.stdout) as CreatedJson).added < 1024, again.stdout);
    const listed = await runCli(['backup', 'list', '--from', repo, ...args], { env: s3.env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout.trim().split('\n')[0]!.split(' ')[0], id);
    const to = join(work, 'restored-s3');
    const restored = await runCli(['backup', 'restore', id, '--from', repo, '--to', to, ...args], {
      env: s3.env,
    });
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual((await compareTrees(source, join(to, 'chat'))).differences, []);
    const check = await runCli(['backup', 'check', '--from', repo, '--read-data', ...args], { env: s3.env });
    assert.equal(check.code, 0, check.stderr);
  });

  it('a wrong key is exit 6; a damaged pack fails check --read-data and the restore with exit 5', async () => {
    const repo = join(work, 'repo-damaged');
    await createJson([source], repo);
    const otherKey = join(work, 'other-key.txt');
    await writeFile(otherKey, (await runCli(['keygen'])).stdout);
    const wrong = await runCli(['backup', 'list', '--from', repo, '--key-file', otherKey]);
    assert.equal(wrong.code, ExitCode.wrongKey, wrong.stderr);
    // The largest pack holds the file chunks (trees fill small packs of their own: FORMAT.md §12.5).
    const packNames = await packsIn(repo);
    const sizes = await Promise.all(packNames.map(async (name) => (await stat(join(repo, name))).size));
    const pack = packNames[sizes.indexOf(Math.max(...sizes))]!;
    const bytes = await readFile(join(repo, pack));
    bytes[4096]! ^= 1;
    await writeFile(join(repo, pack), bytes);
    const check = await withKey(['backup', 'check', '--from', repo, '--read-data-subset', '100%']);
    assert.equal(check.code, ExitCode.damaged, check.stderr);
    const to = join(work, 'restored-damaged');
    const restored = await withKey(['backup', 'restore', '--from', repo, '--to', to]);
    assert.equal(restored.code, ExitCode.damaged, restored.stderr);
    assert.deepEqual(await readdir(to).catch(() => []), []);
  });

  it('a run killed with SIGKILL mid-upload lists no snapshot; the next run reuses its packs', async () => {
    const big = join(work, 'big');
    await mkdir(big);
    await writeFile(join(big, 'video.mp4'), nodeCrypto.randomBytes(48 * MiB));
    const repo = join(work, 'repo-killed');
    const run = startCli(['backup', 'create', big, '--to', repo, '--key-file', keyFile, '--json']);
    await stopAtFirstPack(run.child, repo);
    run.child.kill('SIGKILL');
    const killed = await run.result;
    assert.equal(killed.signal, 'SIGKILL');
    const stored = (await packsIn(repo)).length;
    assert.deepEqual(await listJson(repo), []);
    // The packs of the killed run are in no index yet: check reads them whole and finds them sound.
    const check = await withKey(['backup', 'check', '--from', repo, '--read-data']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /checked 0 snapshots, [1-9]\d* packs .*: 0 problems/);
    const resumed = await createJson([big], repo);
    // Each pack kept holds at least 15 MiB of the file that is not uploaded again (§12.8).
    const bound = 48 * MiB - 15 * MiB * Math.min(stored, 2) + 2 * MiB;
    assert.ok(resumed.added < bound, `resumed run added ${resumed.added} with ${stored} packs kept`);
    const to = join(work, 'restored-killed');
    assert.equal((await withKey(['backup', 'restore', '--from', repo, '--to', to])).code, 0);
    assert.deepEqual((await compareTrees(big, join(to, 'big'))).differences, []);
    const after = await withKey(['backup', 'check', '--from', repo, '--read-data']);
    assert.equal(after.code, 0, after.stderr);
  });

  it('a prune while backup create runs refuses, naming the writer, and the snapshot lands whole', async () => {
    const big = join(work, 'big-pruned');
    await mkdir(big);
    await writeFile(join(big, 'video.mp4'), nodeCrypto.randomBytes(32 * MiB));
    const repo = join(work, 'repo-pruned');
    const run = startCli(['backup', 'create', big, '--to', repo, '--key-file', keyFile, '--json']);
    // The writer's lock is stored before the run reads any file (docs/FORMAT.md §12.15).
    await eventually(
      () => readdir(repo).catch(() => [] as string[]),
      (names) => names.some((name) => name.startsWith('repo.lock.')),
      "the run's writer's lock is stored",
      300_000,
    );
    // Paused (SIGSTOP) while the prune runs, so that it is still writing however fast this machine is.
    run.child.kill('SIGSTOP');
    const prune = await withKey(['backup', 'prune', '--from', repo]);
    run.child.kill('SIGCONT');
    assert.equal(prune.code, ExitCode.failure, prune.stderr);
    assert.match(prune.stderr, /the repository is locked by ".+:\d+" until /);
    const created = await run.result;
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await listJson(repo)).length, 1);
    const check = await withKey(['backup', 'check', '--from', repo, '--read-data']);
    assert.equal(check.code, 0, check.stderr);
    assert.deepEqual(
      (await readdir(repo)).filter((name) => name.startsWith('repo.lock.')),
      [],
      'the finished run removed its lock',
    );
  });

  it('SIGINT mid-upload exits 130 and leaves no snapshot and no partial blob', async () => {
    const big = join(work, 'big-interrupted');
    await mkdir(big);
    await writeFile(join(big, 'video.mp4'), nodeCrypto.randomBytes(48 * MiB));
    const repo = join(work, 'repo-interrupted');
    const run = startCli(['backup', 'create', big, '--to', repo, '--key-file', keyFile]);
    await stopAtFirstPack(run.child, repo);
    run.child.kill('SIGINT');
    run.child.kill('SIGCONT');
    const interrupted = await run.result;
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.equal(interrupted.stdout, '');
    assert.match(interrupted.stderr, /strongroom: interrupted \(SIGINT\)/);
    const names = await readdir(repo);
    assert.deepEqual(
      names.filter((name) => !name.startsWith('repo.pack.') && name !== 'repo.config'),
      [],
      `left in the repository: ${names.join(', ')}`,
    );
    assert.deepEqual(await listJson(repo), []);
  });

  it('two runs at once into one repository: both snapshots are listed and check --read-data passes', async () => {
    const repo = join(work, 'repo-concurrent');
    const trees = ['one', 'two'].map((name) => join(work, `concurrent-${name}`));
    for (const tree of trees) {
      await mkdir(tree);
      await writeFile(join(tree, 'shared.bin'), await readFile(join(source, 'messages.db')));
      await writeFile(join(tree, 'own.bin'), nodeCrypto.randomBytes(6 * MiB));
    }
    // The repository exists already; the runs race on its packs, indexes and snapshots.
    await createJson([join(source, 'media')], repo);
    const runs = trees.map((tree) =>
      startCli(['backup', 'create', tree, '--to', repo, '--key-file', keyFile]),
    );
    const results = await Promise.all(runs.map((run) => run.result));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const ids = results.map((result) => result.stdout.trim());
    const listed = (await listJson(repo)).map((entry) => entry.id);
    for (const id of ids) assert.ok(listed.includes(id), `${id} is not in ${listed.join(', ')}`);
    assert.equal(listed.length, 3);
    const check = await withKey(['backup', 'check', '--from', repo, '--read-data']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /checked 3 snapshots, .*: 0 problems/);
    for (const [i, tree] of trees.entries()) {
      const to = join(work, `restored-concurrent-${i}`);
      assert.equal((await withKey(['backup', 'restore', ids[i]!, '--from', repo, '--to', to])).code, 0);
      assert.deepEqual(
        (await compareTrees(tree, join(to, `concurrent-${['one', 'two'][i]}`))).differences,
        [],
      );
    }
  });

  it("on a terminal, backup create and restore show a bar up to the content's size, also when nothing is read, and erase it", async () => {
    const repo = join(work, 'repo-progress');
    const tree = join(work, 'progress-chat');
    await mkdir(tree);
    for (const [name, size] of [
      ['messages.db', 15 * MiB],
      ['a.jpg', MiB / 2],
      ['b.jpg', MiB / 2],
    ] as const)
      await writeFile(join(tree, name), nodeCrypto.randomBytes(size));
    // Changed more than the racy window (2 s) before the first run, so the second reads nothing (§12.7).
    await sleep(Number(RACY_WINDOW_NS / 1_000_000n) + 100);
    const args = ['backup', 'create', tree, '--to', repo, '--key-file', keyFile];
    const first = await runCliInTerminal(args, []);
    assert.equal(first.code, 0, first.screen);
    assert.deepEqual(lastProgressBar(first.screen, 'backup'), {
      percent: '100',
      done: '16.0 MiB',
      total: '16.0 MiB',
    });
    assert.match(first.screen, /snapshot [0-9a-f]{32}: 3 files \(3 read\), 16\.0 MiB/);
    const second = await runCliInTerminal(args, []);
    assert.equal(second.code, 0, second.screen);
    assert.deepEqual(lastProgressBar(second.screen, 'backup'), {
      percent: '100',
      done: '16.0 MiB',
      total: '16.0 MiB',
    });
    assert.match(second.screen, /snapshot [0-9a-f]{32}: 3 files \(0 read\)/);
    const { code, screen } = await screenAfterCli(args);
    assert.equal(code, 0, screen);
    assert.match(screen, /^snapshot [0-9a-f]{32}: 3 files \(0 read\)/m);
    assert.doesNotMatch(screen, /\[[█░]+\]/, `a progress bar was left on the screen:\n${screen}`);
    // A restore's bar runs to the snapshot's size, or to the size of the path it restores.
    const restoreArgs = (to: string, extra: string[] = []) => [
      'backup',
      'restore',
      '--from',
      repo,
      '--to',
      join(work, to),
      '--key-file',
      keyFile,
      ...extra,
    ];
    const restored = await runCliInTerminal(restoreArgs('progress-out'), []);
    assert.equal(restored.code, 0, restored.screen);
    assert.deepEqual(lastProgressBar(restored.screen, 'restore'), {
      percent: '100',
      done: '16.0 MiB',
      total: '16.0 MiB',
    });
    const onePath = await runCliInTerminal(
      restoreArgs('progress-one', ['--path', 'progress-chat/a.jpg']),
      [],
    );
    assert.equal(onePath.code, 0, onePath.screen);
    assert.deepEqual(lastProgressBar(onePath.screen, 'restore'), {
      percent: '100',
      done: '512.0 KiB',
      total: '512.0 KiB',
    });
    const whole = await screenAfterCli(restoreArgs('progress-again'));
    assert.equal(whole.code, 0, whole.screen);
    assert.match(whole.screen, /^restored snapshot [0-9a-f]{32} into /m);
    assert.doesNotMatch(whole.screen, /\[[█░]+\]/, `a progress bar was left on the screen:\n${whole.screen}`);
  });

  it('forget --keep-last 1 then prune frees the old data; the kept snapshot restores', async () => {
    const repo = join(work, 'repo-prune');
    const old = join(work, 'old');
    await mkdir(old);
    await writeFile(join(old, 'old.bin'), nodeCrypto.randomBytes(3 * MiB));
    assert.equal((await withKey(['backup', 'create', old, '--to', repo])).code, 0);
    const kept = await createJson([source], repo);
    const forget = await withKey(['backup', 'forget', '--from', repo, '--keep-last', '1']);
    assert.equal(forget.code, 0, forget.stderr);
    assert.match(forget.stderr, /forgot 1 snapshots/);
    const prune = await withKey(['backup', 'prune', '--from', repo]);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stderr, /deleted 2 packs/, "the old snapshot's chunk pack and tree pack");
    assert.deepEqual(
      (await listJson(repo)).map((s) => s.id),
      [kept.id],
    );
    const check = await withKey(['backup', 'check', '--from', repo, '--read-data']);
    assert.equal(check.code, 0, check.stderr);
    const noPolicy = await withKey(['backup', 'forget', '--from', repo]);
    assert.equal(noPolicy.code, ExitCode.usage, noPolicy.stderr);
  });
});
