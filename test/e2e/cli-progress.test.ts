// The progress bars of `backup create --device` and `backup restore --device` on a real
// pseudo-terminal (test/helpers/terminal.ts), through a real ChatD with a small quota (the embedded
// server in this process, real sockets; the CLI in its own processes): a bar ends at exactly the
// size of what its run does, also when the quota refused a first try and retention made room for
// a second (docs/BACKUP.md "Repositories in ChatD storage"), and a restore typed on the terminal
// with the password runs its bar to the snapshot's size.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ChatdBlobStore } from '../../src/client/chatd/blob-store.ts';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { formatBytes } from '../../src/client/format-bytes.ts';
import { DeviceDir } from '../../src/client/node/chatd-device.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { lastProgressBar, runCliInTerminal } from '../helpers/terminal.ts';
import { EmbeddedChatd } from './embedded-chatd.ts';
import { cli, TEST_ENV } from './helpers.ts';

const MiB = 1024 * 1024;
const QUOTA = 4 * MiB;
/** A password zxcvbn-ts scores 3 or more (docs/SECURITY.md "Password strength"). */
const PASSWORD = 'copper meadow lantern tide';

describe('progress bars of backup create and restore --device on a terminal', () => {
  const chatd = EmbeddedChatd.forBlock('cli-progress-', QUOTA);

  /** The folder of a device of `user` in `root/name`, joined with the code the server sent. */
  async function newDevice(user: string, name: string): Promise<string> {
    await chatd.joinDevice(user, name);
    return join(chatd.root, name);
  }

  const inTerminal = (args: string[], steps: Parameters<typeof runCliInTerminal>[1] = []) =>
    runCliInTerminal(args, steps, { env: TEST_ENV });

  it('a create that the quota refused and retention let through ends its bar at 100 % of the retry', async () => {
    const phone = await newDevice('erin', 'erin-phone');
    assert.equal((await cli(['backup', 'enable', '--device', phone, '--manual-key'])).code, 0);
    const chat = join(chatd.root, 'erin-chat');
    mkdirSync(chat);
    const day = async () => {
      // New incompressible content each day: 1 MiB to upload, and yesterday's 1 MiB stays in its snapshot.
      writeFileSync(join(chat, 'today.db'), randomBytes(MiB));
      return inTerminal(['backup', 'create', '--device', phone, chat]);
    };
    for (let n = 0; n < 2; n++) {
      const made = await day();
      assert.equal(made.code, 0, made.screen);
      assert.doesNotMatch(made.screen, /quota refused/, 'the first days fit with room for a next');
    }
    // Another device of the account stores a single-stream backup meanwhile: the room retention
    // kept for a day like the last (1 MiB) is gone, so the next run is refused by the quota.
    const laptop = await newDevice('erin', 'erin-laptop');
    const other = await ChatdClient.connect({
      url: chatd.server.url,
      identity: DeviceDir.open(laptop).identity(),
      openSocket: openNodeSocket,
    });
    try {
      await new ChatdBlobStore(other).put(
        '20260101T000000.000Z-00000000.srb',
        (async function* () {
          yield randomBytes(1.5 * MiB);
        })(),
      );
    } finally {
      other.close();
    }
    const retried = await day();
    assert.equal(retried.code, 0, retried.screen);
    // The second try counts its files again from zero: its bar ends at the tree's size, not past it.
    assert.deepEqual(lastProgressBar(retried.screen, 'backup'), {
      percent: '100',
      done: '1.0 MiB',
      total: '1.0 MiB',
    });
    // Measured first, uploading nothing, so retention knows the room to make before it forgets
    // (docs/BACKUP.md "Repositories in ChatD storage").
    assert.match(
      retried.screen,
      /the account's quota refused the upload: measuring what the backup needs \(reading it again, uploading nothing\)/,
    );
    assert.match(
      retried.screen,
      /the account's quota refused the upload: forgot 1 old snapshot, [\d.]+ [KM]iB freed; backing up again/,
    );
    const id = /snapshot ([0-9a-f]{32}): 1 file \(1 read\)/.exec(retried.screen)?.[1];
    assert.ok(id, retried.screen);
    // After the snapshot, retention keeps room for a next day like this one, with the other
    // device's 1.5 MiB stored: only the new snapshot is left.
    const listed = JSON.parse((await cli(['backup', 'list', '--device', phone, '--json'])).stdout);
    assert.deepEqual(
      listed.map((entry: { id: string }) => entry.id),
      [id],
    );
    const info = JSON.parse((await cli(['account', 'info', '--device', phone, '--json'])).stdout);
    assert.ok(info.usedBytes <= QUOTA, `${info.usedBytes} bytes used of ${QUOTA}`);
    const out = join(chatd.root, 'erin-out');
    const restored = await cli(['backup', 'restore', '--device', phone, '--to', out]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual((await compareTrees(chat, join(out, 'erin-chat'))).differences, []);
  });

  it('restore on a new device, the password typed on the terminal, runs its bar to the snapshot size', async () => {
    const phone = await newDevice('fred', 'fred-phone');
    const enabled = await cli(['backup', 'enable', '--device', phone, '--password-stdin'], `${PASSWORD}\n`);
    assert.equal(enabled.code, 0, enabled.stderr);
    const chat = join(chatd.root, 'fred-chat');
    mkdirSync(chat);
    writeFileSync(join(chat, 'photo.jpg'), randomBytes(MiB));
    writeFileSync(join(chat, 'voice.ogg'), randomBytes(MiB / 2));
    const created = await cli(['backup', 'create', '--device', phone, chat, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const snapshot = JSON.parse(created.stdout);
    assert.equal(snapshot.size, 1.5 * MiB);
    const tablet = await newDevice('fred', 'fred-tablet');
    const out = join(chatd.root, 'fred-out');
    const restored = await inTerminal(
      ['backup', 'restore', '--device', tablet, '--to', out],
      [{ prompt: /backup password: /, line: PASSWORD }],
    );
    assert.equal(restored.code, 0, restored.screen);
    assert.ok(!restored.screen.includes('copper'), `the terminal echoed the password:\n${restored.screen}`);
    const size = formatBytes(snapshot.size);
    assert.deepEqual(lastProgressBar(restored.screen, 'restore'), {
      percent: '100',
      done: size,
      total: size,
    });
    assert.match(restored.screen, new RegExp(`restored snapshot ${snapshot.id} into `));
    assert.deepEqual((await compareTrees(chat, join(out, 'fred-chat'))).differences, []);
  });
});
