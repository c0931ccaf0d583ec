// The whole flow through the CLI (issue 4 "CLI"): a real `strongroom server` process and real
// `strongroom` commands, checked by exit codes and messages as a person or script would see them.
// Slow (each command is a process); the SDK flow (sdk-flow.test.ts) covers the same ground faster.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { cli, joinDevice, ServerProcess } from './helpers.ts';

describe('whole flow through the CLI', () => {
  let root: string;
  let server: ServerProcess;
  let chat: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'cli-flow-'));
    chat = join(root, 'chat');
    mkdirSync(chat);
    writeFileSync(join(chat, 'messages.txt'), 'hello\n'.repeat(10_000));
    writeFileSync(join(chat, 'voice.ogg'), randomBytes(400_000));
    server = await ServerProcess.start(join(root, 'server'));
  });
  after(async () => {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const dev = (name: string) => join(root, name);

  it('password mode: a new device restores after a wrong password costs one guess', async () => {
    assert.ok(existsSync(join(root, 'server', 'fleet.pub')));
    assert.equal((await joinDevice(server, 'alice', dev('phone'))).code, 0);
    const enabled = await cli(
      ['backup', 'enable', '--device', dev('phone'), '--password-stdin'],
      'hunter2\n',
    );
    assert.equal(enabled.code, 0, enabled.stderr);
    const created = await cli(['backup', 'create', '--device', dev('phone'), chat]);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}$/);
    const listed = await cli(['backup', 'list', '--device', dev('phone')]);
    assert.match(listed.stdout, new RegExp(`^${id} .* chatd:$`, 'm'));

    const joined = await joinDevice(server, 'alice', dev('laptop'));
    assert.match(joined.stderr, /joined account alice: this device is active/);
    const out = join(root, 'restored');
    const wrong = await cli(
      ['backup', 'restore', '--device', dev('laptop'), '--to', out, '--password-stdin'],
      'hunter3\n',
    );
    assert.equal(wrong.code, 3);
    assert.match(wrong.stderr, /wrong password: 9 guesses left/);
    assert.equal(existsSync(out), false);
    const right = await cli(
      ['backup', 'restore', '--device', dev('laptop'), '--to', out, '--password-stdin'],
      'hunter2\n',
    );
    assert.equal(right.code, 0, right.stderr);
    assert.match(
      right.stderr,
      /1 failed attempt to open your backup since the last successful restore \(9 of 10 guesses left\)/,
    );
    assert.equal((await compareTrees(chat, join(out, 'chat'))).differences.length, 0);
    const status = await cli(['backup', 'status', '--device', dev('laptop'), '--json']);
    assert.deepEqual(JSON.parse(status.stdout).vault, {
      status: 'active',
      limit: 10,
      guessesLeft: 9,
      failedGuesses: 1,
    });
  });

  it('manual mode: the printed key restores on a new device, a wrong key exits 6', async () => {
    await joinDevice(server, 'bob', dev('bob-phone'));
    const enabled = await cli(['backup', 'enable', '--device', dev('bob-phone'), '--manual-key']);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match(enabled.stdout, /^([0-9a-f]{4} ){15}[0-9a-f]{4}\n$/);
    writeFileSync(join(root, 'bob.key'), enabled.stdout);
    assert.equal((await cli(['backup', 'create', '--device', dev('bob-phone'), chat])).code, 0);
    await joinDevice(server, 'bob', dev('bob-tablet'));
    writeFileSync(join(root, 'other.key'), (await cli(['keygen'])).stdout);
    const out = join(root, 'bob-out');
    const wrong = await cli([
      'backup',
      'restore',
      '--device',
      dev('bob-tablet'),
      '--to',
      out,
      '--key-file',
      join(root, 'other.key'),
    ]);
    assert.equal(wrong.code, 6, wrong.stderr);
    assert.equal(existsSync(out), false);
    const right = await cli([
      'backup',
      'restore',
      '--device',
      dev('bob-tablet'),
      '--to',
      out,
      '--key-file',
      join(root, 'bob.key'),
    ]);
    assert.equal(right.code, 0, right.stderr);
    assert.equal(readFileSync(join(out, 'chat', 'messages.txt'), 'utf8'), 'hello\n'.repeat(10_000));
  });

  it('a wrong join code is refused; a record out of guesses answers locked (exit 4)', async () => {
    const badJoin = await joinDevice(server, 'carol', dev('carol-x'), (code) =>
      code === '00000000' ? '11111111' : '00000000',
    );
    assert.equal(badJoin.code, 1);
    assert.match(badJoin.stderr, /wrong join code \(2 tries left\)/);
    assert.equal((await joinDevice(server, 'carol', dev('carol-phone'))).code, 0);
    const enabled = await cli(
      ['backup', 'enable', '--device', dev('carol-phone'), '--password-stdin', '--guess-limit', '1'],
      'pw\n',
    );
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((await cli(['backup', 'create', '--device', dev('carol-phone'), chat])).code, 0);
    const out = join(root, 'carol-out');
    const wrong = await cli(
      ['backup', 'restore', '--device', dev('carol-phone'), '--to', out, '--password-stdin'],
      'nope\n',
    );
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, /0 guesses left/);
    const locked = await cli(
      ['backup', 'restore', '--device', dev('carol-phone'), '--to', out, '--password-stdin'],
      'pw\n',
    );
    assert.equal(locked.code, 4, locked.stderr);
    assert.equal(existsSync(out), false);
  });

  it('a new device waits for approval when the account requires it, then may use the vault', async () => {
    assert.equal((await cli(['account', 'require-approval', '--device', dev('laptop'), 'on'])).code, 0);
    const joined = await joinDevice(server, 'alice', dev('tablet'));
    assert.match(joined.stderr, /this device is pending approval/);
    const refused = await cli(['backup', 'status', '--device', dev('tablet')]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /waits for approval/);
    const info = JSON.parse((await cli(['account', 'info', '--device', dev('laptop'), '--json'])).stdout);
    const pending = info.devices.filter((d: { state: string }) => d.state === 'pending approval');
    assert.equal(pending.length, 1);
    const approved = await cli([
      'account',
      'approve',
      '--device',
      dev('laptop'),
      pending[0].key.slice(0, 12),
    ]);
    assert.equal(approved.code, 0, approved.stderr);
    const status = await cli(['backup', 'status', '--device', dev('tablet'), '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).vault.guessesLeft, 9);
  });

  it('a password changed on another device is reported before a guess is spent, and restores once confirmed', async () => {
    await joinDevice(server, 'dana', dev('dana-phone'));
    const enabled = await cli(
      ['backup', 'enable', '--device', dev('dana-phone'), '--password-stdin'],
      'one\n',
    );
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((await cli(['backup', 'create', '--device', dev('dana-phone'), chat])).code, 0);
    await joinDevice(server, 'dana', dev('dana-laptop'));
    const restore = (to: string, password: string, extra: string[] = []) =>
      cli(
        [
          'backup',
          'restore',
          '--device',
          dev('dana-laptop'),
          '--to',
          join(root, to),
          '--password-stdin',
          ...extra,
        ],
        `${password}\n`,
      );
    assert.equal((await restore('dana-1', 'one')).code, 0, 'the laptop now remembers the record');
    const changed = await cli(
      ['backup', 'password', '--device', dev('dana-phone'), '--password-stdin'],
      'two\n',
    );
    assert.equal(changed.code, 0, changed.stderr);
    const warned = await restore('dana-2', 'two');
    assert.equal(warned.code, 1, warned.stderr);
    assert.match(warned.stderr, /registered again since this device last saw it/);
    assert.match(warned.stderr, /--password-changed-elsewhere/);
    assert.equal(existsSync(join(root, 'dana-2')), false);
    const status = await cli(['backup', 'status', '--device', dev('dana-laptop'), '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(JSON.parse(status.stdout).tampering, /registered again/);
    const confirmed = await restore('dana-2', 'two', ['--password-changed-elsewhere']);
    assert.equal(confirmed.code, 0, confirmed.stderr);
    assert.match(confirmed.stderr, /0 failed attempts/, 'the warning spent no guess');
    assert.equal((await compareTrees(chat, join(root, 'dana-2', 'chat'))).differences.length, 0);
  });

  it('stops cleanly on SIGTERM; then the device gets "unavailable" (exit 7)', async () => {
    assert.equal(await server.stop(), 0);
    const list = await cli(['backup', 'list', '--device', dev('phone')]);
    assert.equal(list.code, 7, list.stderr);
    assert.match(list.stderr, /cannot reach ChatD/);
  });
});
