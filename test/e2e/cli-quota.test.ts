// `backup create --device` against a real ChatD with a small quota (the embedded server in this
// process, real sockets; the CLI in its own processes): a snapshot that is stored and registered is
// a success (exit 0) even when retention cannot leave room for a next run like it, which a warning
// line on stderr says (docs/BACKUP.md "Repositories in ChatD storage").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceDir } from '../../src/client/node/chatd-device.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { EmbeddedServer } from '../../src/server/embedded.ts';
import { cli } from './helpers.ts';

const MiB = 1024 * 1024;
const QUOTA = 4 * MiB;

describe('backup create --device near the quota', () => {
  let root: string;
  let server: EmbeddedServer;
  const codes = new Map<string, string>();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'cli-quota-'));
    server = await EmbeddedServer.start({
      dataDir: join(root, 'server'),
      quotaBytes: QUOTA,
      codeSender: { send: async (user, code) => void codes.set(user, code) },
    });
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A device of `user` in `root/name`, joined with the code the server sent (the SDK's join). */
  async function newDevice(user: string, name: string): Promise<string> {
    const dir = join(root, name);
    const device = await DeviceDir.create(dir, {
      server: server.url,
      userId: user,
      fleetPub: readFileSync(server.fleetPubPath, 'utf8'),
    });
    const client = await ChatdClient.connect({
      url: server.url,
      identity: device.identity(),
      openSocket: openNodeSocket,
    });
    try {
      await client.requestJoinCode();
      await client.submitJoinCode(codes.get(user)!);
    } finally {
      client.close();
    }
    return dir;
  }

  it('a stored snapshot with too little room left for a next run like it exits 0 with a warning', async () => {
    const phone = await newDevice('hugo', 'hugo-phone');
    assert.equal((await cli(['backup', 'enable', '--device', phone, '--manual-key'])).code, 0);
    const chat = join(root, 'hugo-chat');
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
    const out = join(root, 'hugo-out');
    const restored = await cli(['backup', 'restore', '--device', phone, '--to', out]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual((await compareTrees(chat, join(out, 'hugo-chat'))).differences, []);
  });
});
