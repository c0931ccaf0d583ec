// The whole flow through the CLI (README "CLI"; docs/CHATD.md "What a device is told"): a real
// `strongroom server` process and real `strongroom` commands, checked by exit codes and messages as
// a person or script would see them, some on a real pseudo-terminal (test/helpers/terminal.ts).
// Slow (each command is a process); the SDK flow (sdk-flow.test.ts) covers the same ground faster.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { eventually } from '../helpers/eventually.ts';
import { lastProgressBar, runCliInTerminal } from '../helpers/terminal.ts';
import { cli, joinDevice, ServerProcess, TEST_ENV } from './helpers.ts';

/** Passwords zxcvbn-ts scores 3 or more (docs/SECURITY.md "Password strength"). */
const DANA_FIRST = 'quartz lantern orbit meadow';
const DANA_SECOND = 'velvet harbour cinnamon drift';
const ALICE_PASSWORD = 'gravel lantern wobble';
const CAROL_PASSWORD = 'quiet amber fox river';

/**
 * A `strongroom server` of its own for one describe block, with a chat folder to back up. Every
 * device here joins from 127.0.0.1, and ChatD sends 10 join codes per address at once, then one a
 * minute (docs/CHATD.md "Rate limits"): each block stays well inside that budget, so no test
 * depends on how fast the ones before it ran.
 */
function serverPerBlock(serverArgs: string[] = []) {
  const fixture = {} as { root: string; chat: string; server: ServerProcess };
  before(async () => {
    fixture.root = mkdtempSync(join(tmpdir(), 'cli-flow-'));
    fixture.chat = join(fixture.root, 'chat');
    mkdirSync(fixture.chat);
    writeFileSync(join(fixture.chat, 'messages.txt'), 'hello\n'.repeat(10_000));
    writeFileSync(join(fixture.chat, 'voice.ogg'), randomBytes(400_000));
    fixture.server = await ServerProcess.start(join(fixture.root, 'server'), serverArgs);
  });
  after(async () => {
    await fixture.server.stop();
    rmSync(fixture.root, { recursive: true, force: true });
  });
  return fixture;
}

describe('whole flow through the CLI', () => {
  const fixture = serverPerBlock();
  let root: string;
  let server: ServerProcess;
  let chat: string;
  before(() => ({ root, server, chat } = fixture));
  const dev = (name: string) => join(root, name);

  it('password mode: a new device restores after a wrong password costs one guess', async () => {
    assert.ok(existsSync(join(root, 'server', 'fleet.pub')));
    assert.equal((await joinDevice(server, 'alice', dev('phone'))).code, 0);
    const enabled = await cli(
      ['backup', 'enable', '--device', dev('phone'), '--password-stdin'],
      `${ALICE_PASSWORD}\n`,
    );
    assert.equal(enabled.code, 0, enabled.stderr);
    const created = await cli(['backup', 'create', '--device', dev('phone'), chat]);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.match(
      created.stderr,
      new RegExp(`^snapshot ${id}: 2 files \\(2 read\\), .* uploaded to chatd:$`, 'm'),
    );
    const listed = await cli(['backup', 'list', '--device', dev('phone')]);
    assert.match(
      listed.stdout,
      new RegExp(`^${id}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC +2 files `, 'm'),
    );

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
      `${ALICE_PASSWORD}\n`,
    );
    assert.equal(right.code, 0, right.stderr);
    assert.match(
      right.stderr,
      /^the vault counts 1 wrong password since the password was set \(9 of 10 guesses left\)$/m,
    );
    assert.match(right.stderr, /^this device has no earlier count to compare with/m);
    assert.equal((await compareTrees(chat, join(out, 'chat'))).differences.length, 0);
    const status = await cli(['backup', 'status', '--device', dev('laptop'), '--json']);
    assert.deepEqual(JSON.parse(status.stdout).vault, {
      status: 'active',
      limit: 10,
      guessesLeft: 9,
      failedGuesses: 1,
    });

    // A later success does not restart the vault's count, and the message does not claim it does.
    const again = await cli(
      ['backup', 'restore', '--device', dev('laptop'), '--to', join(root, 'again'), '--password-stdin'],
      `${ALICE_PASSWORD}\n`,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^the vault counts 1 wrong password since the password was set/m);
    assert.doesNotMatch(again.stderr, /since the last successful restore|warning:|no earlier count/);
  });

  it('--json on backup create, list and status and account info gives sizes as numbers', async () => {
    const created = await cli(['backup', 'create', '--device', dev('phone'), chat, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const backup = JSON.parse(created.stdout);
    assert.equal(backup.kind, 'snapshot');
    assert.equal(backup.size, 6 * 10_000 + 400_000);
    assert.equal(backup.files, 2);
    // The same content as the first test's snapshot: only the new tree root and snapshot are new.
    assert.ok(backup.added < 200_000, `${backup.added}`);
    assert.equal(backup.location, 'chatd:');
    const listed = JSON.parse((await cli(['backup', 'list', '--device', dev('phone'), '--json'])).stdout);
    assert.deepEqual(listed.at(-1), backup);
    assert.equal(listed.length, 2);
    const status = JSON.parse((await cli(['backup', 'status', '--device', dev('phone'), '--json'])).stdout);
    assert.deepEqual(status.lastBackup, { id: backup.id, size: backup.added, created: backup.created });
    const info = JSON.parse((await cli(['account', 'info', '--device', dev('phone'), '--json'])).stdout);
    assert.equal(typeof info.usedBytes, 'number');
    assert.ok(info.usedBytes >= backup.size, `${info.usedBytes}`);
    const human = await cli(['account', 'info', '--device', dev('phone')]);
    assert.match(human.stdout, /^storage: \d+(\.\d)? [KM]iB of \d+(\.\d)? [MGT]iB$/m);
  });

  it('a weak new password is refused with the reason; nothing is enabled', async () => {
    assert.equal((await joinDevice(server, 'dave', dev('dave-phone'))).code, 0);
    for (const weak of ['hunter2', 'password123', 'dave2024']) {
      const refused = await cli(
        ['backup', 'enable', '--device', dev('dave-phone'), '--password-stdin'],
        `${weak}\n`,
      );
      assert.equal(refused.code, 2, `${weak}: ${refused.stderr}`);
      assert.match(refused.stderr, /^strongroom: error: the password is too easy to guess: /m);
      assert.match(refused.stderr, /^strongroom: hint: three or four unrelated words/m);
      assert.ok(!refused.stderr.includes(weak), 'the error quotes the password');
    }
    const status = JSON.parse(
      (await cli(['backup', 'status', '--device', dev('dave-phone'), '--json'])).stdout,
    );
    assert.equal(status.mode, 'none');
    assert.equal(status.noRecord, true);
  });

  it('without a terminal and without --password-stdin, enable refuses and says what to pass', async () => {
    const refused = await cli(['backup', 'enable', '--device', dev('dave-phone')], `${CAROL_PASSWORD}\n`);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^strongroom: error: no terminal to ask for the password on$/m);
    assert.match(refused.stderr, /^strongroom: hint: pass --password-stdin/m);
  });

  it('on a terminal the password is asked twice without echo; a mismatch changes nothing', async () => {
    const mismatch = await runCliInTerminal(
      ['backup', 'enable', '--device', dev('dave-phone')],
      [
        { prompt: /new backup password: /, line: CAROL_PASSWORD },
        { prompt: /repeat it: /, line: 'quiet amber fox rivers' },
      ],
      { env: TEST_ENV },
    );
    assert.equal(mismatch.code, 2, mismatch.screen);
    assert.match(mismatch.screen, /strongroom: error: the two passwords differ: nothing was changed/);
    assert.ok(!mismatch.screen.includes('amber'), `the terminal echoed the password:\n${mismatch.screen}`);

    const weak = await runCliInTerminal(
      ['backup', 'enable', '--device', dev('dave-phone'), '--password-stdin'],
      [{ prompt: /new backup password: /, line: 'hunter2' }],
      { env: TEST_ENV },
    );
    assert.equal(weak.code, 2, weak.screen);
    assert.match(weak.screen, /the password is too easy to guess/);
    assert.doesNotMatch(weak.screen, /repeat it/);
    assert.ok(!weak.screen.includes('hunter2'), `the terminal echoed the password:\n${weak.screen}`);

    const enabled = await runCliInTerminal(
      ['backup', 'enable', '--device', dev('dave-phone')],
      [
        { prompt: /new backup password: /, line: CAROL_PASSWORD },
        { prompt: /repeat it: /, line: CAROL_PASSWORD },
      ],
      { env: TEST_ENV },
    );
    assert.equal(enabled.code, 0, enabled.screen);
    assert.match(enabled.screen, /password backup enabled: the vault allows 10 wrong passwords/);
    assert.ok(!enabled.screen.includes('amber'), `the terminal echoed the password:\n${enabled.screen}`);

    // A new device restores by typing the password at the prompt; no flag needed.
    assert.equal((await cli(['backup', 'create', '--device', dev('dave-phone'), chat])).code, 0);
    assert.equal((await joinDevice(server, 'dave', dev('dave-tablet'))).code, 0);
    const restored = await runCliInTerminal(
      ['backup', 'restore', '--device', dev('dave-tablet'), '--to', join(root, 'dave-out')],
      [{ prompt: /backup password: /, line: CAROL_PASSWORD }],
      { env: TEST_ENV },
    );
    assert.equal(restored.code, 0, restored.screen);
    assert.match(restored.screen, /the vault counts 0 wrong passwords since the password was set/);
    assert.ok(!restored.screen.includes('amber'), `the terminal echoed the password:\n${restored.screen}`);
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

  it('disable asks on a terminal; the other devices are told and stop backing up', async () => {
    const declined = await runCliInTerminal(
      ['backup', 'disable', '--device', dev('laptop')],
      [{ prompt: /type 'disable' to go on: /, line: 'no' }],
      { env: TEST_ENV },
    );
    assert.equal(declined.code, 1, declined.screen);
    assert.match(
      declined.screen,
      /this deletes the vault record and 2 backups of account alice; nobody can restore them/,
    );
    assert.match(declined.screen, /strongroom: error: backup disable not confirmed: nothing was deleted/);
    assert.equal(
      JSON.parse((await cli(['backup', 'list', '--device', dev('phone'), '--json'])).stdout).length,
      2,
    );

    const disabled = await runCliInTerminal(
      ['backup', 'disable', '--device', dev('laptop')],
      [{ prompt: /type 'disable' to go on: /, line: 'disable' }],
      { env: TEST_ENV },
    );
    assert.equal(disabled.code, 0, disabled.screen);
    assert.match(disabled.screen, /backup disabled: 2 backups deleted/);

    const laptopKey = JSON.parse(
      (await cli(['account', 'info', '--device', dev('laptop'), '--json'])).stdout,
    ).devices.find((d: { self: boolean }) => d.self).key as string;
    const create = await cli(['backup', 'create', '--device', dev('phone'), chat]);
    assert.equal(create.code, 2, create.stderr);
    assert.match(
      create.stderr,
      new RegExp(
        `^account: .* UTC: device ${laptopKey.slice(0, 12)} turned backup off, deleting the vault record and the backups; this device forgot its key and makes no more backups`,
        'm',
      ),
    );
    assert.match(create.stderr, /^strongroom: error: backup is not enabled on this device$/m);
    assert.equal(existsSync(join(dev('phone'), 'backup.key')), false);
    // Told once: the next command says only what is true now.
    const status = await cli(['backup', 'status', '--device', dev('phone')]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^mode: none$/m);
    assert.doesNotMatch(status.stderr, /turned backup off|tampering|hidden/);
  });

  it('stops cleanly on SIGTERM; then the device gets "unavailable" (exit 7)', async () => {
    assert.equal(await server.stop(), 0);
    const list = await cli(['backup', 'list', '--device', dev('phone')]);
    assert.equal(list.code, 7, list.stderr);
    assert.match(list.stderr, /cannot reach ChatD/);
  });
});

describe('guesses and passwords through the CLI', () => {
  // A grace long enough that `backup status` right after the last wrong guess still sees the
  // record out of guesses, not yet locked, on a slow machine (docs/OPERATIONS.md "Settings").
  const fixture = serverPerBlock(['--lock-grace', '20']);
  let root: string;
  let server: ServerProcess;
  let chat: string;
  before(() => ({ root, server, chat } = fixture));
  const dev = (name: string) => join(root, name);

  it('a wrong join code is refused; a record out of guesses answers locked (exit 4)', async () => {
    const badJoin = await joinDevice(server, 'carol', dev('carol-x'), (code) =>
      code === '00000000' ? '11111111' : '00000000',
    );
    assert.equal(badJoin.code, 1);
    assert.match(badJoin.stderr, /wrong join code \(2 tries left\)/);
    assert.equal((await joinDevice(server, 'carol', dev('carol-phone'))).code, 0);
    const enabled = await cli(
      ['backup', 'enable', '--device', dev('carol-phone'), '--password-stdin', '--guess-limit', '1'],
      `${CAROL_PASSWORD}\n`,
    );
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((await cli(['backup', 'create', '--device', dev('carol-phone'), chat])).code, 0);
    const out = join(root, 'carol-out');
    const wrong = await cli(
      ['backup', 'restore', '--device', dev('carol-phone'), '--to', out, '--password-stdin'],
      'nope\n',
    );
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(
      wrong.stderr,
      /wrong password, and it was the last guess allowed: the next attempt, even with the right password, makes the vault destroy the backup key/,
    );
    const outOfGuesses = await cli(['backup', 'status', '--device', dev('carol-phone')]);
    assert.match(outOfGuesses.stdout, /^vault record: out of guesses: all 1 were spent/m);
    assert.match(outOfGuesses.stdout, /^this device holds the key: `backup password` sets a new password/m);
    assert.doesNotMatch(outOfGuesses.stdout, /vault record: active/);
    const locked = await cli(
      ['backup', 'restore', '--device', dev('carol-phone'), '--to', out, '--password-stdin'],
      `${CAROL_PASSWORD}\n`,
    );
    assert.equal(locked.code, 4, locked.stderr);
    assert.equal(existsSync(out), false);
    // The host locks the record after a grace period (docs/PROTOCOL.md section 9, step 4). Polled
    // every 2 s: each `backup status` spends the account's vault requests, which ChatD refills at
    // one every 2 s (docs/CHATD.md "Rate limits"), and disable and enable below need some left.
    await eventually(
      async () =>
        JSON.parse((await cli(['backup', 'status', '--device', dev('carol-phone'), '--json'])).stdout),
      (status) => status.vault.status === 'locked',
      'the host locked the record',
      120_000,
      2000,
    );
    const human = await cli(['backup', 'status', '--device', dev('carol-phone')]);
    assert.match(
      human.stdout,
      /^vault record: locked: its guesses ran out and the vault destroyed the backup key$/m,
    );
    // A locked record holds nothing to delete: disable goes through, and enable makes a new record.
    const disabled = await cli(['backup', 'disable', '--device', dev('carol-phone')]);
    assert.equal(disabled.code, 0, disabled.stderr);
    const again = await cli(
      ['backup', 'enable', '--device', dev('carol-phone'), '--password-stdin'],
      `${CAROL_PASSWORD}\n`,
    );
    assert.equal(again.code, 0, again.stderr);
  });

  it('a password changed on another device is reported before a guess is spent, and restores once confirmed', async () => {
    await joinDevice(server, 'dana', dev('dana-phone'));
    const enabled = await cli(
      ['backup', 'enable', '--device', dev('dana-phone'), '--password-stdin'],
      `${DANA_FIRST}\n`,
    );
    assert.equal(enabled.code, 0, enabled.stderr);
    // On a terminal, as a person backs up: the bar runs to the tree's size, then the report.
    const created = await runCliInTerminal(['backup', 'create', '--device', dev('dana-phone'), chat], [], {
      env: TEST_ENV,
    });
    assert.equal(created.code, 0, created.screen);
    assert.deepEqual(lastProgressBar(created.screen, 'backup'), {
      percent: '100',
      done: '449.2 KiB',
      total: '449.2 KiB',
    });
    assert.match(created.screen, /snapshot [0-9a-f]{32}: 2 files/);
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
    assert.equal((await restore('dana-1', DANA_FIRST)).code, 0, 'the laptop now remembers the record');
    const changed = await cli(
      ['backup', 'password', '--device', dev('dana-phone'), '--password-stdin'],
      `${DANA_SECOND}\n`,
    );
    assert.equal(changed.code, 0, changed.stderr);
    const warned = await restore('dana-2', DANA_SECOND);
    assert.equal(warned.code, 1, warned.stderr);
    assert.match(warned.stderr, /registered again since this device last saw it/);
    assert.match(warned.stderr, /--password-changed-elsewhere/);
    assert.equal(existsSync(join(root, 'dana-2')), false);
    const status = await cli(['backup', 'status', '--device', dev('dana-laptop'), '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(JSON.parse(status.stdout).tampering, /registered again/);
    const confirmed = await restore('dana-2', DANA_SECOND, ['--password-changed-elsewhere']);
    assert.equal(confirmed.code, 0, confirmed.stderr);
    assert.match(
      confirmed.stderr,
      /^the vault counts 0 wrong passwords since the password was set/m,
      'the warning spent no guess',
    );
    assert.equal((await compareTrees(chat, join(root, 'dana-2', 'chat'))).differences.length, 0);
  });
});
