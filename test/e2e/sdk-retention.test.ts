// A device backing up day after day into the account's storage behind a real ChatD (embedded
// server, real sockets) with a small quota: retention keeps the repository within it without being
// asked (docs/BACKUP.md "Repositories in ChatD storage"): the oldest snapshots leave both the
// repository and the account's backup list, the newest always restores, and the usage ChatD
// reports never passes the quota.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceDir } from '../../src/client/node/chatd-device.ts';
import { DeviceSession } from '../../src/client/node/chatd-session.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { EmbeddedServer } from '../../src/server/embedded.ts';

const MiB = 1024 * 1024;
const QUOTA = 4 * MiB;
const DAYS = 6;

describe('backups through ChatD within a small quota', () => {
  let root: string;
  let server: EmbeddedServer;
  const codes = new Map<string, string>();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'sdk-retention-'));
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

  it('forgets the oldest snapshots by itself, keeps the newest restorable, and never passes the quota', async () => {
    const fleetPub = readFileSync(server.fleetPubPath, 'utf8');
    const device = await DeviceDir.create(join(root, 'phone'), {
      server: server.url,
      userId: 'dana',
      fleetPub,
    });
    const joining = await ChatdClient.connect({
      url: server.url,
      identity: device.identity(),
      openSocket: openNodeSocket,
    });
    await joining.requestJoinCode();
    await joining.submitJoinCode(codes.get('dana')!);
    joining.close();
    const phone = await DeviceSession.open(device);
    await phone.enableManual(); // the account's storage behind ChatD
    const chat = join(root, 'chat');
    mkdirSync(join(chat, 'media'), { recursive: true });
    const made: string[] = [];
    for (let day = 0; day < DAYS; day++) {
      // Each day's media is new and incompressible, and yesterday's is gone: 1 MiB a day to keep.
      rmSync(join(chat, 'media'), { recursive: true, force: true });
      mkdirSync(join(chat, 'media'));
      writeFileSync(join(chat, 'media', `day-${day}.jpg`), randomBytes(MiB));
      writeFileSync(join(chat, 'messages.txt'), `day ${day}\n`.repeat(1000 * (day + 1)));
      const snapshot = await phone.createBackup([chat]);
      made.push(snapshot.id);
      const info = await phone.client.accountInfo();
      assert.ok(Number(info.usedBytes) <= QUOTA, `day ${day}: ${info.usedBytes} bytes used of ${QUOTA}`);
    }
    const listed = (await phone.listBackups()).map((entry) => entry.id);
    const kept = (await phone.listSnapshots())!.map((s) => s.id);
    assert.ok(kept.length < DAYS, `${kept.length} of ${DAYS} snapshots kept: retention forgot none`);
    assert.deepEqual(kept, made.slice(-kept.length), 'the newest snapshots are the ones kept, in order');
    assert.deepEqual(listed, kept, "ChatD's backup list names exactly the snapshots the repository keeps");
    const out = join(root, 'restored');
    const report = await phone.restore({ to: out });
    assert.equal(report.id, made.at(-1));
    const comparison = await compareTrees(chat, join(out, 'chat'));
    assert.equal(comparison.differences.length, 0, comparison.differences.join('\n'));
    phone.close();
  });
});
