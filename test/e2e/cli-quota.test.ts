// `backup create --device` against a real ChatD with a small quota (the embedded server in this
// process, real sockets; the CLI in its own processes): a snapshot that is stored and registered is
// a success (exit 0) even when retention cannot leave room for a next run like it, which a warning
// line on stderr says (docs/BACKUP.md "Repositories in ChatD storage").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { EmbeddedChatd } from './embedded-chatd.ts';
import { cli } from './helpers.ts';

const MiB = 1024 * 1024;
const QUOTA = 4 * MiB;

describe('backup create --device near the quota', () => {
  const chatd = EmbeddedChatd.forBlock('cli-quota-', QUOTA);

  /** The folder of a device of `user` in `root/name`, joined with the code the server sent. */
  async function newDevice(user: string, name: string): Promise<string> {
    await chatd.joinDevice(user, name);
    return join(chatd.root, name);
  }

  it('a stored snapshot with too little room left for a next run like it exits 0 with a warning', async () => {
    const phone = await newDevice('hugo', 'hugo-phone');
    assert.equal((await cli(['backup', 'enable', '--device', phone, '--manual-key'])).code, 0);
    const chat = join(chatd.root, 'hugo-chat');
    mkdirSync(chat);
    // 2.5 MiB fit in the 4 MiB quota once; 2.5 MiB more beside them never can.
    writeFileSync(join(chat, 'video.mp4'), randomBytes(2.5 * MiB));
    const made = await cli(['backup', 'create', '--device', phone, chat]);
    assert.equal(made.code, 0, made.stderr);
    const id = made.stdout.trim();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.match(
      made.stderr,
      new RegExp(
        `^strongroom: warning: snapshot ${id} is stored, but a next backup like it will not fit the account's quota: ` +
          '[\\d.]+ [KM]iB missing even with only this snapshot kept; back up less, or move the repository to a larger store$',
        'm',
      ),
    );
    assert.doesNotMatch(made.stderr, /^strongroom: error/m);
    const listed = JSON.parse((await cli(['backup', 'list', '--device', phone, '--json'])).stdout);
    assert.deepEqual(
      listed.map((entry: { id: string }) => entry.id),
      [id],
    );
    const out = join(chatd.root, 'hugo-out');
    const restored = await cli(['backup', 'restore', '--device', phone, '--to', out]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual((await compareTrees(chat, join(out, 'hugo-chat'))).differences, []);
  });
});
