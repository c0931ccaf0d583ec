// Names that are not UTF-8 through the real CLI (docs/BACKUP.md "Names that are not UTF-8"): real
// files whose names are bytes that are not UTF-8, two of them printing alike once those bytes are
// replaced by U+FFFD, backed up with `backup create`, then restored one at a time with `--path` in
// the escaped form the CLI prints, with a key and a store and with a device that recovers the key
// with its password. Each restore must bring exactly the file named, under the exact bytes of its
// name, and print the name escaped; a look-alike or mistyped path fails naming the nearest names;
// a malformed `--path` fails before any store is opened or any key or password asked for; and the
// files a snapshot marks changed are named, escaped, when restored.
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { createSnapshot } from '../../src/client/node/repository-backup.ts';
import { Repository } from '../../src/client/repository/repository.ts';
import { ExitCode } from '../../src/errors.ts';
import { BackupKey } from '../../src/format/key.ts';
import { DirectoryBlobStore } from '../../src/stores/blob/directory.ts';
import { runCli } from '../helpers/cli.ts';
import { runCliInTerminal } from '../helpers/terminal.ts';
import { cli, joinDevice, ServerProcess, TEST_ENV } from './helpers.ts';

/** A password zxcvbn-ts scores 3 or more (docs/SECURITY.md "Password strength"). */
const PASSWORD = 'copper willow sonnet glacier';

/** The names of the tree backed up, as bytes: "café" in Latin-1 and its neighbour, both "caf\uFFFD" once decoded. */
const E_ACUTE = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
const E_GRAVE = Buffer.from([0x63, 0x61, 0x66, 0xe8]);
const ODD_DIR = Buffer.from([0x64, 0x69, 0x72, 0xff]);
const TAB_NAME = Buffer.from('tab\there');

let work: string;
let source: string;
let keyFile: string;
let repo: string;
let snapshotId: string;
let counter = 0;
const fresh = (label: string) => join(work, `${label}-${counter++}`);
const at = (...parts: (string | Buffer)[]) =>
  Buffer.concat(parts.flatMap((part, i) => [...(i > 0 ? [Buffer.from('/')] : []), Buffer.from(part)]));
const withKey = (args: string[]) => runCli([...args, '--key-file', keyFile]);
/** The names in a directory, as bytes, sorted. */
const namesIn = (dir: string | Buffer) => readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare);

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'strongroom-cli-names-'));
  source = join(work, 'names');
  mkdirSync(source);
  writeFileSync(at(source, E_ACUTE), 'latin-1 e acute\n');
  writeFileSync(at(source, E_GRAVE), 'latin-1 e grave, a little longer\n');
  writeFileSync(join(source, 'café'), 'utf-8\n');
  mkdirSync(at(source, ODD_DIR));
  writeFileSync(at(source, ODD_DIR, TAB_NAME), 'a tab in its name\n');
  writeFileSync(at(source, ODD_DIR, 'plain.txt'), 'plain\n');
  keyFile = join(work, 'key.txt');
  writeFileSync(keyFile, (await runCli(['keygen'])).stdout);
  repo = join(work, 'repo');
  const created = await withKey(['backup', 'create', source, '--to', repo]);
  assert.equal(created.code, 0, created.stderr);
  snapshotId = created.stdout.trim();
  assert.match(snapshotId, /^[0-9a-f]{32}$/);
});
after(() => rmSync(work, { recursive: true, force: true }));

const restore = (path: string, to: string) =>
  withKey(['backup', 'restore', snapshotId, '--from', repo, '--to', to, '--path', path]);

describe('backup restore --path with names that are not UTF-8, with a key and a store', () => {
  it('restores exactly the name given with escapes, under its exact bytes, and prints it escaped', async () => {
    const to = fresh('acute');
    const restored = await restore('names/caf\\351', to);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(namesIn(to), [E_ACUTE]);
    assert.equal(readFileSync(at(to, E_ACUTE), 'utf8'), 'latin-1 e acute\n');
    assert.match(
      restored.stderr,
      new RegExp(`^restored snapshot ${snapshotId} \\(names/caf\\\\351\\) into ${to}: 1 file, 16 B$`, 'm'),
    );

    // \xHH is the same byte; the other look-alike is the other file.
    const graveTo = fresh('grave');
    const grave = await restore('names/caf\\xe8', graveTo);
    assert.equal(grave.code, 0, grave.stderr);
    assert.deepEqual(namesIn(graveTo), [E_GRAVE]);
    assert.equal(readFileSync(at(graveTo, E_GRAVE), 'utf8'), 'latin-1 e grave, a little longer\n');
    assert.match(grave.stderr, /\(names\/caf\\350\) into /);

    // The UTF-8 "café" is a third name, typed as it is.
    const utf8To = fresh('utf8');
    const utf8 = await restore('names/café', utf8To);
    assert.equal(utf8.code, 0, utf8.stderr);
    assert.deepEqual(namesIn(utf8To), [Buffer.from('café')]);
  });

  it('goes through a directory whose name is not UTF-8, to a name with a control character', async () => {
    const to = fresh('tab');
    const restored = await restore('names/dir\\377/tab\\there', to);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(namesIn(to), [TAB_NAME]);
    assert.equal(readFileSync(at(to, TAB_NAME), 'utf8'), 'a tab in its name\n');
    assert.match(restored.stderr, /\(names\/dir\\377\/tab\\there\) into .*: 1 file, 18 B$/m);

    const dirTo = fresh('dir');
    const dir = await restore('names/dir\\377', dirTo);
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(namesIn(dirTo), [ODD_DIR]);
    assert.deepEqual(namesIn(at(dirTo, ODD_DIR)), [Buffer.from('plain.txt'), TAB_NAME]);
    assert.match(dir.stderr, /\(names\/dir\\377\) into .*: 2 files, 24 B$/m);
  });

  it('refuses a path typed as it reads without escapes, naming the names it could be', async () => {
    const to = fresh('lossy');
    const lossy = await restore('names/caf\uFFFD', to);
    assert.equal(lossy.code, ExitCode.usage, lossy.stderr);
    assert.match(
      lossy.stderr,
      /^strongroom: error: 'names\/caf\uFFFD' is ambiguous: 2 names in 'names\/' read 'caf\uFFFD' once their bytes that are not UTF-8 are replaced: 'names\/caf\\350', 'names\/caf\\351'$/m,
    );
    assert.equal(existsSync(to), false);
  });

  it('refuses a missing path, naming the nearest names, escaped', async () => {
    const to = fresh('missing');
    const missing = await restore('names/cafe', to);
    assert.equal(missing.code, ExitCode.usage, missing.stderr);
    assert.match(missing.stderr, /^strongroom: error: no 'names\/cafe' in the snapshot$/m);
    assert.match(
      missing.stderr,
      /^strongroom: hint: the nearest names in 'names\/': 'names\/café', 'names\/caf\\350', 'names\/caf\\351', 'names\/dir\\377'$/m,
    );
    const through = await restore('names/café/x', to);
    assert.equal(through.code, ExitCode.usage, through.stderr);
    assert.match(through.stderr, /'names\/café' in the snapshot is a file, not a directory/);
    assert.equal(existsSync(to), false);
  });

  it('refuses a malformed --path before it opens the store or reads the key', async () => {
    const nowhere = join(work, 'no-such-store');
    const noKey = await runCli([
      'backup',
      'restore',
      '--from',
      nowhere,
      '--to',
      fresh('x'),
      '--path',
      'names/caf\\q',
    ]);
    assert.equal(noKey.code, ExitCode.usage, noKey.stderr);
    assert.match(noKey.stderr, /^strongroom: error: --path: '\\q' at character 10 is not an escape$/m);
    assert.doesNotMatch(noKey.stderr, /key|store/);
    const badKey = await runCli([
      'backup',
      'restore',
      '--from',
      nowhere,
      '--to',
      fresh('x'),
      '--key-file',
      join(work, 'no-such-key'),
      '--path',
      'names/../etc',
    ]);
    assert.equal(badKey.code, ExitCode.usage, badKey.stderr);
    assert.match(
      badKey.stderr,
      /^strongroom: error: --path 'names\/\.\.\/etc': a path in a snapshot has no '\.' or '\.\.' in it$/m,
    );
    assert.doesNotMatch(badKey.stderr, /key file/);
    assert.equal(existsSync(nowhere), false);
  });

  it('names each restored file the snapshot marks changed, escaped', async () => {
    // A file overwritten in place while the backup read it: stored as read, and marked changed.
    const torn = join(work, 'torn');
    mkdirSync(torn);
    const db = at(torn, Buffer.from([0x64, 0x62, 0xe9]));
    writeFileSync(db, Buffer.alloc(4 * 1024 * 1024, 1));
    writeFileSync(join(torn, 'steady'), 'steady');
    const tornRepo = join(work, 'torn-repo');
    const key = BackupKey.parse(readFileSync(keyFile, 'utf8'));
    const repository = await Repository.openOrCreate(new DirectoryBlobStore(tornRepo), key, nodeCrypto);
    key.destroy();
    let overwritten = false;
    const created = await createSnapshot(repository, [torn], {
      onBytes: () => {
        if (overwritten) return;
        overwritten = true;
        const fd = openSync(db, 'r+');
        writeSync(fd, Buffer.alloc(4 * 1024 * 1024, 2), 0, 4 * 1024 * 1024, 0);
        closeSync(fd);
      },
    });
    repository.close();

    const to = fresh('torn-restored');
    const restored = await withKey(['backup', 'restore', '--from', tornRepo, '--to', to]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(
      restored.stderr,
      /^strongroom: warning: 'torn\/db\\351' changed while it was being backed up; restored as stored$/m,
    );
    assert.match(restored.stderr, /: 2 files, 4\.0 MiB$/m);
    assert.doesNotMatch(restored.stderr, /steady/);
    // The backup named it escaped too, as the path on disk.
    assert.deepEqual(created.problems, [
      { path: `${torn}/db\\351`, reason: 'it changed while being read; stored as read' },
    ]);
    const one = await withKey([
      'backup',
      'restore',
      '--from',
      tornRepo,
      '--to',
      fresh('torn-one'),
      '--path',
      'torn/steady',
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.doesNotMatch(one.stderr, /changed while/);
  });
});

describe('backup restore --path with names that are not UTF-8, on a device that recovers the key with its password', () => {
  let root: string;
  let server: ServerProcess;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'strongroom-cli-names-device-'));
    server = await ServerProcess.start(join(root, 'server'));
    assert.equal((await joinDevice(server, 'erin', join(root, 'phone'))).code, 0);
    const enabled = await cli(
      ['backup', 'enable', '--device', join(root, 'phone'), '--password-stdin'],
      `${PASSWORD}\n`,
    );
    assert.equal(enabled.code, 0, enabled.stderr);
    const created = await cli(['backup', 'create', '--device', join(root, 'phone'), source]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await joinDevice(server, 'erin', join(root, 'laptop'))).code, 0);
  });
  after(async () => {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const laptop = () => join(root, 'laptop');

  it('refuses a malformed --path before it asks for the password, on a terminal or from stdin', async () => {
    const to = join(root, 'x');
    // On a terminal the password would be asked for; answered, it would be spent on the vault.
    const onTerminal = await runCliInTerminal(
      ['backup', 'restore', '--device', laptop(), '--to', to, '--path', 'names/caf\\q'],
      [{ prompt: /backup password: |strongroom: error: /, line: 'not the password' }],
      { env: TEST_ENV },
    );
    assert.equal(onTerminal.code, ExitCode.usage, onTerminal.screen);
    assert.doesNotMatch(onTerminal.screen, /backup password/);
    assert.match(onTerminal.screen, /strongroom: error: --path: '\\q' at character 10 is not an escape/);
    const fromStdin = await cli(
      ['backup', 'restore', '--device', laptop(), '--to', to, '--password-stdin', '--path', 'names/caf\\q'],
      'not the password\n',
    );
    assert.equal(fromStdin.code, ExitCode.usage, fromStdin.stderr);
    assert.match(fromStdin.stderr, /--path: '\\q' at character 10 is not an escape/);
    // No guess was spent on either.
    const status = await cli(['backup', 'status', '--device', laptop(), '--json']);
    assert.equal(JSON.parse(status.stdout).vault.failedGuesses, 0, status.stdout);
    assert.equal(existsSync(to), false);
  });

  it('restores exactly the name given with escapes', async () => {
    const to = join(root, 'grave');
    const restored = await cli(
      ['backup', 'restore', '--device', laptop(), '--to', to, '--password-stdin', '--path', 'names/caf\\350'],
      `${PASSWORD}\n`,
    );
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(namesIn(to), [E_GRAVE]);
    assert.equal(readFileSync(at(to, E_GRAVE), 'utf8'), 'latin-1 e grave, a little longer\n');
    assert.match(
      restored.stderr,
      /^restored snapshot [0-9a-f]{32} \(names\/caf\\350\) into .*: 1 file, 33 B$/m,
    );
  });
});
