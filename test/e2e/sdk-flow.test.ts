// The whole flow through the SDK against the embedded server (src/server/embedded.ts: ChatD, the
// in-process 3-node fleet, blob storage) over real loopback WebSockets: password and manual-key
// modes, a new device, a wrong password costing one guess, tampering, and a capture of everything
// ChatD receives, relays and stores, in which K, the password and the chat plaintext never appear.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CaptureChannel } from '../../src/chatd/context.ts';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceDir } from '../../src/client/node/chatd-device.ts';
import { DeviceSession } from '../../src/client/node/chatd-session.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { WrongKeyError, WrongPasswordError } from '../../src/errors.ts';
import { BackupKey } from '../../src/format/key.ts';
import { EmbeddedServer } from '../../src/server/embedded.ts';

const ARGON2ID = { memory: 1024, iterations: 1, parallelism: 1 };
const PASSWORD = 'correct horse battery staple';
const MARKER = 'PLAINTEXT-CHAT-MARKER-7f3a9c';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('whole flow through the SDK', () => {
  let root: string;
  let server: EmbeddedServer;
  const codes = new Map<string, string>();
  const captured: Array<{ channel: CaptureChannel; bytes: Uint8Array }> = [];
  /** The server's log, line by line, as `strongroom server` writes it to stderr. */
  const logLines: string[] = [];
  let chat: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'sdk-flow-'));
    server = await EmbeddedServer.start({
      dataDir: join(root, 'server'),
      codeSender: { send: async (user, code) => void codes.set(user, code) },
      capture: (channel, bytes) => captured.push({ channel, bytes: Uint8Array.from(bytes) }),
      logger: pino({ base: { service: 'server' } }, { write: (line: string) => void logLines.push(line) }),
    });
    chat = join(root, 'chat');
    mkdirSync(join(chat, 'media'), { recursive: true });
    writeFileSync(join(chat, 'messages.txt'), `${MARKER}\n`.repeat(20_000));
    writeFileSync(join(chat, 'media', 'photo.jpg'), randomBytes(700_000));
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A new device directory joined to `user` with the code the server "sent". */
  async function newDevice(user: string, name: string): Promise<DeviceSession> {
    const fleetPub = readFileSync(server.fleetPubPath, 'utf8');
    const device = await DeviceDir.create(join(root, name), { server: server.url, userId: user, fleetPub });
    const joining = await ChatdClient.connect({
      url: server.url,
      identity: device.identity(),
      openSocket: openNodeSocket,
    });
    await joining.requestJoinCode();
    await joining.submitJoinCode(codes.get(user)!);
    joining.close();
    return DeviceSession.open(device, { argon2id: ARGON2ID });
  }

  let key: Uint8Array;

  it('password mode: enable, back up, lose the phone, a wrong guess, restore on a new device', async () => {
    const phone = await newDevice('alice', 'phone');
    const summary = await phone.enablePassword(PASSWORD, { limit: 5 });
    assert.equal(summary.guessesLeft, 5);
    const backup = await phone.createBackup([chat]);
    key = Uint8Array.from(phone.device.backupKey()!.exposeBytes());
    phone.close(); // the phone is lost

    const laptop = await newDevice('alice', 'laptop');
    assert.equal(laptop.device.backupKey(), undefined);
    const out = join(root, 'restored');
    await assert.rejects(laptop.restore({ to: out, password: 'tr0ub4dor' }), (e: unknown) => {
      assert.ok(e instanceof WrongPasswordError);
      assert.equal(e.guessesLeft, 4);
      return true;
    });
    assert.equal(existsSync(out), false, 'a wrong password wrote nothing');
    const report = await laptop.restore({ to: out, password: PASSWORD });
    assert.equal(report.id, backup.id);
    assert.deepEqual(report.recovery, {
      failedGuessesSincePasswordSet: 1,
      failedGuessesSinceThisDevice: undefined, // the laptop saw no earlier count
      guessesLeft: 4,
      limit: 5,
    });
    const comparison = await compareTrees(chat, join(out, 'chat'));
    assert.equal(comparison.differences.length, 0, comparison.differences.join('\n'));
    // The new device now holds K and carries on backing up.
    assert.deepEqual(laptop.device.backupKey()!.exposeBytes(), key);
    const status = await laptop.status();
    assert.deepEqual(status.vault, { status: 'active', limit: 5, guessesLeft: 4, failedGuesses: 1 });
    assert.equal(status.lastBackup?.id, backup.id);
    laptop.close();
  });

  it("manual mode to the device's own directory store: the key restores on a new device; a wrong key writes nothing", async () => {
    const phone = await newDevice('bob', 'bob-phone');
    const ownStore = join(root, 'bob-store');
    const manualKey = await phone.enableManual({ store: ownStore });
    const backup = await phone.createBackup([chat]);
    assert.ok(
      existsSync(join(ownStore, `repo.snapshot.${backup.id}`)),
      'the snapshot went to the chosen store',
    );
    assert.deepEqual(
      (await phone.listBackups()).map((e) => [e.id, e.location]),
      [[backup.id, ownStore]],
    );
    phone.close();
    const tablet = await newDevice('bob', 'bob-tablet');
    const wrongOut = join(root, 'bob-wrong');
    const wrong = BackupKey.generate((n) => new Uint8Array(randomBytes(n)));
    await assert.rejects(tablet.restore({ to: wrongOut, key: wrong }), WrongKeyError);
    assert.equal(existsSync(wrongOut), false);
    const out = join(root, 'bob-restored');
    await tablet.restore({ to: out, key: manualKey });
    assert.equal((await compareTrees(chat, join(out, 'chat'))).differences.length, 0);
    tablet.close();
  });

  it('ChatD learned nothing: K, the password and the chat plaintext are in no byte it saw or stored', () => {
    const haystacks = [
      ...captured.map((c) => Buffer.from(c.bytes)),
      ...filesUnder(join(root, 'server', 'chatd')).map((path) => readFileSync(path)),
    ];
    assert.ok(
      captured.some((c) => c.channel === 'vault-out'),
      'the capture saw relayed vault frames',
    );
    assert.ok(
      haystacks.reduce((n, h) => n + h.length, 0) > 1_000_000,
      'the capture saw the uploaded backups',
    );
    const needles = {
      K: Buffer.from(key),
      'K as hex': Buffer.from(Buffer.from(key).toString('hex')),
      'K as key text': Buffer.from(new BackupKey(key).format()),
      password: Buffer.from(PASSWORD),
      'chat plaintext': Buffer.from(MARKER),
    };
    for (const [name, needle] of Object.entries(needles)) {
      for (const haystack of haystacks)
        assert.equal(haystack.indexOf(needle), -1, `${name} appears in ChatD's bytes`);
    }
  });

  it("the server's log has a line per vault request and no K, password or frame bytes in any encoding", () => {
    const requests = logLines
      .map((line) => JSON.parse(line))
      .filter((line) => line.event === 'vault-request');
    const relayed = captured.filter((c) => c.channel === 'vault-out').length;
    assert.ok(
      relayed > 0 && requests.length >= relayed,
      `${requests.length} lines for ${relayed} relayed frames`,
    );
    for (const line of requests) {
      assert.match(line.node, /^node-\d$/);
      assert.match(line.recordIdHash, /^[0-9a-f]{16}$/);
      assert.equal(typeof line.durationMs, 'number');
    }
    const log = logLines.join('');
    const frames = captured.filter((c) => c.channel.startsWith('vault')).map((c) => Buffer.from(c.bytes));
    const needles = [
      PASSWORD,
      new BackupKey(key).format(),
      ...[Buffer.from(key), ...frames].flatMap((bytes) => [
        bytes.toString('hex'),
        bytes.toString('base64'),
        bytes.toString('base64url'),
      ]),
    ];
    for (const needle of needles) assert.ok(!log.includes(needle), 'a secret or a frame is in the log');
  });

  it("serves the in-process vault's metrics next to ChatD's at /metrics, counting the flows above", async () => {
    const base = server.url.replace(/^ws:/, 'http:').replace(/\/v1\/chatd$/, '');
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    const answered = [
      ...text.matchAll(/^strongroom_vault_operations_total\{[^}]*outcome="answered"[^}]*\} (\d+)$/gm),
    ];
    const requests = logLines
      .map((line) => JSON.parse(line))
      .filter((line) => line.event === 'vault-request');
    assert.equal(
      answered.reduce((sum, m) => sum + Number(m[1]), 0),
      requests.filter((line) => line.outcome === 'answered').length,
      'one answered count per answered request line',
    );
    // The password test above: one wrong guess and one right one, each paid for with a guess.
    assert.ok(value(/^strongroom_vault_guesses_spent_total (\d+)$/m) >= 2, text);
    assert.match(text, /^strongroom_vault_operation_duration_seconds_count\{op="[a-z-]+"\} [1-9]/m);
    assert.match(text, /^chatd_connections_total [1-9]/m);
  });

  it('reuses the fleet on restart, and warns of tampering when the vault shows no record the device saw', async () => {
    const fleetId = server.fleet.fleetId;
    await server.close();
    rmSync(join(root, 'server', 'records.sqlite'), { force: true }); // the operator "loses" the records
    server = await EmbeddedServer.start({
      dataDir: join(root, 'server'),
      codeSender: { send: async (user, code) => void codes.set(user, code) },
    });
    assert.deepEqual(server.fleet.fleetId, fleetId, 'the same fleet after a restart');
    const laptop = DeviceDir.open(join(root, 'laptop'));
    await laptop.update({ server: server.url });
    const session = await DeviceSession.open(laptop, { argon2id: ARGON2ID });
    try {
      const status = await session.status();
      assert.equal(status.vault, undefined);
      assert.match(status.tampering ?? '', /./, 'a tampering warning, not a silent "no record"');
      await assert.rejects(session.enablePassword(PASSWORD), /already enabled/);
    } finally {
      session.close();
    }
  });
});
