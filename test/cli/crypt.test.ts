// `strongroom encrypt` / `decrypt` (README "CLI"): stdin/stdout and files, key from --key-file or
// STRONGROOM_KEY, exit codes, and the damage matrix: each damaged input fails with its own exit
// code and message, and `-o OUT` leaves no OUT (and no temporary file) behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

let work: string;
let keyFile: string;
let keyText: string;
const plain = randomBytes(3 * 1024 * 1024 + 5); // three 1 MiB chunks and a short final one
let sealed: Buffer;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-cli-crypt-'));
  keyText = (await runCli(['keygen'])).stdout;
  keyFile = join(work, 'key.txt');
  await writeFile(keyFile, keyText);
  await writeFile(join(work, 'plain.bin'), plain);
  const run = await runCli([
    'encrypt',
    '--key-file',
    keyFile,
    '-o',
    join(work, 'sealed.srb'),
    join(work, 'plain.bin'),
  ]);
  assert.equal(run.code, 0, run.stderr);
  sealed = await readFile(join(work, 'sealed.srb'));
});
after(() => rm(work, { recursive: true, force: true }));

describe('strongroom encrypt/decrypt', { concurrency: 2 }, () => {
  it('round-trips through files and through stdin/stdout with the key from STRONGROOM_KEY', async () => {
    const toFile = await runCli([
      'decrypt',
      '--key-file',
      keyFile,
      '-o',
      join(work, 'out.bin'),
      join(work, 'sealed.srb'),
    ]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.deepEqual(await readFile(join(work, 'out.bin')), plain);

    const env = { STRONGROOM_KEY: keyText.toUpperCase().replaceAll(' ', '-') };
    const encrypted = await runCli(['encrypt'], { input: plain, env });
    assert.equal(encrypted.code, 0, encrypted.stderr);
    assert.equal(encrypted.stdoutBytes.length, sealed.length);
    const decrypted = await runCli(['decrypt'], { input: encrypted.stdoutBytes, env });
    assert.equal(decrypted.code, 0, decrypted.stderr);
    assert.deepEqual(decrypted.stdoutBytes, plain);
    assert.equal(decrypted.stderr, '', 'quiet when stderr is not a terminal');
  });

  it('refuses to run without a key, with a malformed key, or with the key on the command line', async () => {
    const none = await runCli(['decrypt', join(work, 'sealed.srb')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no backup key given/);
    await writeFile(join(work, 'short.txt'), keyText.trim().slice(0, -1));
    const short = await runCli(['decrypt', '--key-file', join(work, 'short.txt'), join(work, 'sealed.srb')]);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /key file '.*short\.txt': 63 hex digits, expected 64/);
    const bad = await runCli(['encrypt'], { env: { STRONGROOM_KEY: `x${keyText.slice(1)}` } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /STRONGROOM_KEY: 'x' at position 1 is not a hex digit/);
    const onLine = await runCli(['encrypt', '--key', keyText.trim()]);
    assert.equal(onLine.code, 2);
    for (const run of [none, short, bad, onLine]) assert.ok(!run.stderr.includes(keyText.slice(5, 14)));
  });

  const HEADER = 93;
  const SEALED_CHUNK = 1024 * 1024 + 16;
  const flip = (at: number) => {
    const copy = Buffer.from(sealed);
    copy[at]! ^= 1;
    return copy;
  };
  const damages: [string, () => Buffer, number, RegExp][] = [
    ['a truncated stream', () => sealed.subarray(0, HEADER + 2 * SEALED_CHUNK), 5, /truncated/],
    ['a flipped chunk bit', () => flip(HEADER + SEALED_CHUNK + 9), 5, /chunk 1 failed to decrypt/],
    ['a flipped header bit', () => flip(HEADER - 1), 5, /header damaged/],
    [
      'reordered chunks',
      () =>
        Buffer.concat([
          sealed.subarray(0, HEADER),
          sealed.subarray(HEADER + SEALED_CHUNK, HEADER + 2 * SEALED_CHUNK),
          sealed.subarray(HEADER, HEADER + SEALED_CHUNK),
          sealed.subarray(HEADER + 2 * SEALED_CHUNK),
        ]),
      5,
      /chunk 0 failed/,
    ],
    [
      'a duplicated chunk',
      () => Buffer.concat([sealed.subarray(0, HEADER + SEALED_CHUNK), sealed.subarray(HEADER)]),
      5,
      /chunk \d failed/,
    ],
    ['appended bytes', () => Buffer.concat([sealed, Buffer.from('!')]), 5, /chunk 3 failed/],
    ['not a backup at all', () => plain.subarray(0, 5000), 5, /not a Strongroom backup/],
  ];
  for (const [what, make, code, message] of damages) {
    it(`${what}: exit ${code}, no output file`, async () => {
      const dir = await mkdtemp(join(work, 'damage-'));
      await writeFile(join(dir, 'in.srb'), make());
      const run = await runCli([
        'decrypt',
        '--key-file',
        keyFile,
        '-o',
        join(dir, 'out.bin'),
        join(dir, 'in.srb'),
      ]);
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, message);
      assert.deepEqual(await readdir(dir), ['in.srb']);
    });
  }

  it('a wrong key: exit 6, no output file', async () => {
    const dir = await mkdtemp(join(work, 'wrong-key-'));
    const other = (await runCli(['keygen'])).stdout;
    const run = await runCli(['decrypt', '-o', join(dir, 'out.bin'), join(work, 'sealed.srb')], {
      env: { STRONGROOM_KEY: other },
    });
    assert.equal(run.code, 6);
    assert.match(run.stderr, /wrong key/);
    assert.deepEqual(await readdir(dir), []);
  });
  it('a file of 16 MiB or more runs on worker threads: same stream format, damage still caught, --threads checked', async () => {
    const dir = await mkdtemp(join(work, 'threads-'));
    const large = randomBytes(17 * 1024 * 1024 + 3);
    await writeFile(join(dir, 'large.bin'), large);
    const sealedWith = async (threads: string) => {
      const out = join(dir, `large-${threads}.srb`);
      const run = await runCli([
        'encrypt',
        '--key-file',
        keyFile,
        '--threads',
        threads,
        '-o',
        out,
        join(dir, 'large.bin'),
      ]);
      assert.equal(run.code, 0, run.stderr);
      return out;
    };
    // Sealed on two workers, opened on the main thread, and the other way round.
    for (const [sealThreads, openThreads] of [
      ['2', '1'],
      ['1', '2'],
    ]) {
      const opened = join(dir, `opened-${sealThreads}`);
      const run = await runCli([
        'decrypt',
        '--key-file',
        keyFile,
        '--threads',
        openThreads!,
        '-o',
        opened,
        await sealedWith(sealThreads!),
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await readFile(opened), large);
    }
    const damaged = await readFile(join(dir, 'large-2.srb'));
    damaged[HEADER + 9 * SEALED_CHUNK + 100]! ^= 1;
    await writeFile(join(dir, 'damaged.srb'), damaged);
    const run = await runCli([
      'decrypt',
      '--key-file',
      keyFile,
      '-o',
      join(dir, 'never'),
      join(dir, 'damaged.srb'),
    ]);
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, /chunk 9 failed/);
    await assert.rejects(readFile(join(dir, 'never')), { code: 'ENOENT' });
    const usage = await runCli(['encrypt', '--key-file', keyFile, '--threads', '0', join(dir, 'large.bin')]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--threads/);
  });

  it('-o onto a FIFO or device writes into it in place: it stays what it was', async () => {
    // A rename over the target would turn /dev/null into a plain file when run as root.
    const dir = await mkdtemp(join(work, 'fifo-'));
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = readFile(fifo);
    const run = await runCli(['decrypt', '--key-file', keyFile, '-o', fifo, join(work, 'sealed.srb')]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await reader, plain);
    assert.ok((await stat(fifo)).isFIFO());
    assert.deepEqual(await readdir(dir), ['pipe']);
  });
});
