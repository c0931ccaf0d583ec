// A device backing up day after day into the account's storage behind a real ChatD (embedded
// server, real sockets) with a small quota: retention keeps the repository within it without being
// asked (docs/BACKUP.md "Repositories in ChatD storage"): the oldest snapshots leave both the
// repository and the account's backup list, the newest always restores, and the usage ChatD
// reports never passes the quota. A run that needs more room than the newest snapshot's run
// uploaded is refused, is measured, makes room for what it needs, and tries again; a run that can
// never fit beside the newest snapshot says the quota is too small and forgets nothing. A stored
// snapshot whose next run cannot fit is a success that says the room is short.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DeviceSession } from '../../src/client/node/chatd-session.ts';
import { QuotaTooSmallError } from '../../src/client/repository/retention.ts';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { EmbeddedChatd } from './embedded-chatd.ts';

const MiB = 1024 * 1024;
const QUOTA = 4 * MiB;
const DAYS = 6;

describe('backups through ChatD within a small quota', () => {
  const chatd = EmbeddedChatd.forBlock('sdk-retention-', QUOTA);

  /** `ids` are the snapshots both the repository and the account's backup list hold, in order. */
  async function assertListed(phone: DeviceSession, ids: readonly string[]): Promise<void> {
    assert.deepEqual(
      (await phone.listSnapshots())!.map((s) => s.id),
      ids,
    );
    assert.deepEqual(
      (await phone.listBackups()).map((entry) => entry.id),
      ids,
    );
  }

  /** A device of a new account `user`, its backups in the account's storage behind ChatD. */
  async function newDevice(user: string, on = chatd.server): Promise<DeviceSession> {
    const session = await DeviceSession.open(await chatd.joinDevice(user, `${user}-phone`, on));
    await session.enableManual(); // the account's storage behind ChatD
    return session;
  }

  it('forgets the oldest snapshots by itself, keeps the newest restorable, and never passes the quota', async () => {
    const phone = await newDevice('dana');
    const chat = join(chatd.root, 'chat');
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
    const out = join(chatd.root, 'restored');
    const report = await phone.restore({ to: out });
    assert.equal(report.id, made.at(-1));
    const comparison = await compareTrees(chat, join(out, 'chat'));
    assert.equal(comparison.differences.length, 0, comparison.differences.join('\n'));
    phone.close();
  });

  /** Each day's messages.db by snapshot id, to check what a snapshot restores. */
  const messagesOf = new Map<string, Buffer>();

  /**
   * Six days of 512 KiB of new messages each, yesterday's gone: retention keeps the newest five or
   * so, filling the quota but for room for a day like the last (about 600 KiB).
   */
  async function smallDays(phone: DeviceSession, chat: string): Promise<string[]> {
    mkdirSync(chat, { recursive: true });
    for (let day = 0; day < 6; day++) {
      const messages = randomBytes(MiB / 2);
      writeFileSync(join(chat, 'messages.db'), messages);
      const snapshot = await phone.createBackup([chat]);
      assert.equal(snapshot.roomShort, undefined, 'a day like the last fits');
      messagesOf.set(snapshot.id, messages);
    }
    return (await phone.listSnapshots())!.map((s) => s.id);
  }

  it('a run needing more room than the last one made is refused, forgets enough, and succeeds on a retry', async () => {
    const phone = await newDevice('emma');
    const chat = join(chatd.root, 'emma-chat');
    const kept = await smallDays(phone, chat);
    // A 1.25 MiB video passes the quota, and room for a day like the last is far from enough for
    // it; forgetting the oldest days is.
    writeFileSync(join(chat, 'video.mp4'), randomBytes(1.25 * MiB));
    const retries: string[][] = [];
    const snapshot = await phone.createBackup([chat], {
      onRetry: (retention) => retries.push(retention.forgotten),
    });
    assert.equal(retries.length, 1, `${retries.length} retries`);
    const forgotten = retries[0]!;
    assert.ok(forgotten.length >= 1, 'the retry had room made for it');
    assert.deepEqual(forgotten, kept.slice(0, forgotten.length), 'the oldest are forgotten first');
    const after = (await phone.listSnapshots())!.map((s) => s.id);
    assert.equal(after.at(-1), snapshot.id);
    assert.ok(after.includes(kept.at(-1)!), 'the snapshot newest before the run is never forgotten');
    const info = await phone.client.accountInfo();
    assert.ok(Number(info.usedBytes) <= QUOTA, `${info.usedBytes} bytes used of ${QUOTA}`);
    const out = join(chatd.root, 'emma-restored');
    assert.equal((await phone.restore({ to: out })).id, snapshot.id);
    assert.deepEqual((await compareTrees(chat, join(out, 'emma-chat'))).differences, []);
    phone.close();
  });

  it('a run that cannot fit even with only the newest snapshot left forgets nothing and says how much is missing', async () => {
    const phone = await newDevice('finn');
    const chat = join(chatd.root, 'finn-chat');
    const kept = await smallDays(phone, chat);
    const usedBefore = Number((await phone.client.accountInfo()).usedBytes);
    // 3.6 MiB is less than the 4 MiB quota, but the newest snapshot's 512 KiB stay whatever is
    // forgotten: the run can never fit, and forgetting the older days would destroy them in vain
    // (docs/BACKUP.md "Repositories in ChatD storage").
    writeFileSync(join(chat, 'video.mp4'), randomBytes(3.6 * MiB));
    const retries: string[][] = [];
    await assert.rejects(
      phone.createBackup([chat], { onRetry: (retention) => retries.push(retention.forgotten) }),
      (error) =>
        error instanceof QuotaTooSmallError &&
        error.missingBytes > 0 &&
        error.message.includes(`${error.missingBytes} bytes are missing`),
    );
    assert.deepEqual(retries, [], 'no new try');
    // Every old snapshot is still listed, in the repository and in ChatD's backup list, and restores.
    await assertListed(phone, kept);
    // What the refused run uploaded is deleted again: the account uses no more than before.
    const info = await phone.client.accountInfo();
    assert.ok(Number(info.usedBytes) <= usedBefore, `${info.usedBytes} bytes used, ${usedBefore} before`);
    for (const id of kept) {
      const out = join(chatd.root, `finn-restored-${id}`);
      assert.equal((await phone.restore({ to: out, id })).id, id);
      assert.deepEqual(readFileSync(join(out, 'finn-chat', 'messages.db')), messagesOf.get(id));
      assert.deepEqual(readdirSync(join(out, 'finn-chat')), ['messages.db'], 'the video is in no snapshot');
    }
    phone.close();
  });

  it('a run of several packs that cannot fit is found out before the first old snapshot goes', async () => {
    // Packs of 16 MiB (docs/FORMAT.md §12.5) under a 40 MiB quota: the quota refuses the run's
    // second pack, so what it had uploaded by then is far less than it needs in all. Only the
    // measured size shows, before anything is forgotten, that it cannot fit beside the newest
    // snapshot (docs/BACKUP.md "Repositories in ChatD storage").
    const big = await chatd.startServer('big-server', 40 * MiB);
    try {
      const phone = await newDevice('ines', big);
      const chat = join(chatd.root, 'ines-chat');
      mkdirSync(chat);
      const made = new Map<string, Buffer>();
      for (let day = 0; day < 4; day++) {
        const messages = randomBytes(4 * MiB);
        writeFileSync(join(chat, 'messages.db'), messages);
        made.set((await phone.createBackup([chat])).id, messages);
      }
      const kept = (await phone.listSnapshots())!.map((s) => s.id);
      assert.deepEqual(kept, [...made.keys()], 'four days of 4 MiB fit in 40 MiB');
      const usedBefore = Number((await phone.client.accountInfo()).usedBytes);
      // 37 MiB beside the newest day's 4 MiB pass the quota, whatever is forgotten.
      writeFileSync(join(chat, 'video.mp4'), randomBytes(37 * MiB));
      const retries: string[][] = [];
      await assert.rejects(
        phone.createBackup([chat], { onRetry: (retention) => retries.push(retention.forgotten) }),
        (error) => error instanceof QuotaTooSmallError && error.missingBytes > 0,
      );
      assert.deepEqual(retries, [], 'no new try');
      await assertListed(phone, kept);
      const info = await phone.client.accountInfo();
      assert.ok(Number(info.usedBytes) <= usedBefore, `${info.usedBytes} bytes used, ${usedBefore} before`);
      for (const id of kept) {
        const out = join(chatd.root, `ines-restored-${id}`);
        assert.equal((await phone.restore({ to: out, id })).id, id);
        assert.deepEqual(readFileSync(join(out, 'ines-chat', 'messages.db')), made.get(id));
      }
      phone.close();
    } finally {
      await big.close();
    }
  });

  it('a stored snapshot whose next run cannot fit is a success that says the room is short, and forgets nothing for it', async () => {
    const phone = await newDevice('gwen');
    const chat = join(chatd.root, 'gwen-chat');
    const kept = await smallDays(phone, chat);
    // A 2.5 MiB video fits once the oldest days are forgotten; a next run like it (2.5 MiB more)
    // cannot fit beside it, whatever else is forgotten.
    writeFileSync(join(chat, 'video.mp4'), randomBytes(2.5 * MiB));
    const retries: string[][] = [];
    const snapshot = await phone.createBackup([chat], {
      onRetry: (retention) => retries.push(retention.forgotten),
    });
    assert.equal(retries.length, 1, `${retries.length} retries`);
    const forgotten = retries[0]!;
    assert.ok(snapshot.roomShort instanceof QuotaTooSmallError, String(snapshot.roomShort));
    assert.ok(snapshot.roomShort.missingBytes > 0, `${snapshot.roomShort.missingBytes} bytes missing`);
    assert.equal(snapshot.roomShort.roomBytes, snapshot.added, 'room for a day like today');
    // The snapshot is stored and listed; the days the retry needed forgotten are gone, and no
    // more: forgetting the rest could not have made the room for a next run.
    const stillKept = kept.filter((id) => !forgotten.includes(id));
    assert.ok(stillKept.length >= 1, 'an older day is left to forget in vain');
    await assertListed(phone, [...stillKept, snapshot.id]);
    const info = await phone.client.accountInfo();
    assert.ok(Number(info.usedBytes) <= QUOTA, `${info.usedBytes} bytes used of ${QUOTA}`);
    const out = join(chatd.root, 'gwen-restored');
    assert.equal((await phone.restore({ to: out })).id, snapshot.id);
    assert.deepEqual((await compareTrees(chat, join(out, 'gwen-chat'))).differences, []);
    phone.close();
  });
});
