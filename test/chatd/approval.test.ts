// Approval of new devices and announcements to the account's devices (src/chatd/connection.ts,
// notifier.ts; docs/CHATD.md "Approval", "Notifications").
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChatdClient } from '../../src/client/chatd/client.ts';
import { ChatdRequestError } from '../../src/client/chatd/errors.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { ChatdVaultTransport } from '../../src/client/chatd/vault-transport.ts';
import { ReportActivity } from '../../src/protocol/chatd/account.ts';
import { ErrorCode } from '../../src/protocol/chatd/errors.ts';
import { DeviceState } from '../../src/protocol/chatd/handshake.ts';
import { type Notification, NotificationKind } from '../../src/protocol/chatd/notification.ts';
import { MalformedFrameError } from '../../src/protocol/chatd/wire.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import { EchoVaultNode, type Harness, startChatd, vaultFrame } from './helpers.ts';

/** Resolves with the first notification of `kind` the client receives. */
function nextNotification(client: ChatdClient, kind: NotificationKind): Promise<Notification> {
  return new Promise((resolve) => {
    const stop = client.onNotification((n) => {
      if (n.kind === kind) {
        stop();
        resolve(n);
      }
    });
  });
}

const isCode = (code: ErrorCode) => (e: unknown) => e instanceof ChatdRequestError && e.code === code;

describe('new devices need approval when the account says so', () => {
  let node: EchoVaultNode;
  let h: Harness;
  let clock = Date.now();
  before(async () => {
    node = await EchoVaultNode.start();
    h = await startChatd({ vaultNodes: [node.vaultNode('a', 'eu')], now: () => clock });
  });
  after(async () => {
    await h.close();
    await node.close();
  });

  it('holds a new device pending until an existing device approves it', async () => {
    const phone = await h.join('uma');
    await phone.setRequireApproval(true);
    const joined = nextNotification(phone, NotificationKind.deviceJoinedPending);
    const thief = DeviceIdentity.generate('uma');
    const newDevice = await h.join('uma', thief);
    assert.equal(newDevice.deviceState, DeviceState.pending);
    assert.deepEqual((await joined).subjectDevice, thief.publicKey);

    const hits = node.hits;
    await assert.rejects(
      new ChatdVaultTransport(newDevice).exchange(vaultFrame('uma')),
      isCode(ErrorCode.approvalRequired),
    );
    await assert.rejects(newDevice.listBackups(), isCode(ErrorCode.approvalRequired));
    await assert.rejects(newDevice.setRequireApproval(false), isCode(ErrorCode.approvalRequired));
    assert.equal(node.hits, hits, 'a pending device reached no vault node');

    const approved = nextNotification(newDevice, NotificationKind.deviceApproved);
    await phone.decideDevice(thief.publicKey, true);
    await approved;
    await new ChatdVaultTransport(newDevice).exchange(vaultFrame('uma'));
    assert.equal(node.hits, hits + 1);
  });

  it('removing a device disconnects it and it cannot come back without a new join', async () => {
    const phone = await h.join('wendy');
    await phone.setRequireApproval(true);
    const intruder = DeviceIdentity.generate('wendy');
    const other = await h.join('wendy', intruder);
    await phone.decideDevice(intruder.publicKey, false);
    await assert.rejects(other.accountInfo());
    const again = await h.connect(intruder);
    assert.equal(again.deviceState, DeviceState.unregistered);
    assert.equal((await phone.accountInfo()).devices.length, 1);
  });

  it('approves a pending device nobody decided on after the approval wait (7 days)', async () => {
    const phone = await h.join('xena');
    await phone.setRequireApproval(true);
    phone.close(); // the only device is lost
    const replacement = DeviceIdentity.generate('xena');
    const pending = await h.join('xena', replacement);
    await assert.rejects(
      new ChatdVaultTransport(pending).exchange(vaultFrame('xena')),
      isCode(ErrorCode.approvalRequired),
    );
    clock += 7 * 24 * 3600_000;
    await new ChatdVaultTransport(pending).exchange(vaultFrame('xena'));
  });

  it('a device cannot approve itself, and a pending device cannot approve anyone', async () => {
    const phone = await h.join('yara');
    await phone.setRequireApproval(true);
    const a = DeviceIdentity.generate('yara');
    const b = DeviceIdentity.generate('yara');
    const clientA = await h.join('yara', a);
    await h.join('yara', b);
    await assert.rejects(clientA.decideDevice(b.publicKey, true), isCode(ErrorCode.approvalRequired));
    await assert.rejects(phone.decideDevice(phone.identity.publicKey, true), isCode(ErrorCode.forbidden));
    const stateOf = new Map(
      (await phone.accountInfo()).devices.map((d) => [Buffer.from(d.publicKey).toString('hex'), d.state]),
    );
    const hex = (key: Uint8Array) => Buffer.from(key).toString('hex');
    assert.equal(stateOf.get(hex(phone.identity.publicKey)), DeviceState.active);
    assert.equal(stateOf.get(hex(a.publicKey)), DeviceState.pending);
    assert.equal(stateOf.get(hex(b.publicKey)), DeviceState.pending);
  });
});

describe('announcements', () => {
  let node: EchoVaultNode;
  let h: Harness;
  before(async () => {
    node = await EchoVaultNode.start();
    h = await startChatd({ vaultNodes: [node.vaultNode('a', 'eu')] });
  });
  after(async () => {
    await h.close();
    await node.close();
  });

  it("tells the other devices of the guesses the vault host's hint counts, and of reported activity", async () => {
    const phone = await h.join('zoe');
    const laptopId = DeviceIdentity.generate('zoe');
    const laptop = await h.join('zoe', laptopId);
    const seen: Notification[] = [];
    phone.onNotification((n) => seen.push(n));
    const relayed = new ChatdVaultTransport(laptop);
    // Without a hint, or with a malformed one, a login start announces nothing: ChatD cannot tell a
    // spend from a retry or a "locked" answer in a sealed frame.
    node.guessesSpentHint = undefined;
    await relayed.exchange(vaultFrame('zoe', VaultOp.loginStart));
    node.guessesSpentHint = 'lots';
    await relayed.exchange(vaultFrame('zoe', VaultOp.loginStart));
    node.guessesSpentHint = '0';
    await relayed.exchange(vaultFrame('zoe', VaultOp.loginStart));
    node.guessesSpentHint = '2';
    const spent = nextNotification(phone, NotificationKind.guessesSpent);
    await relayed.exchange(vaultFrame('zoe', VaultOp.status));
    const n = await spent;
    assert.equal(n.count, 2, 'the count is the hint’s, whatever the op');
    assert.deepEqual(n.subjectDevice, laptopId.publicKey);
    node.guessesSpentHint = undefined;

    const recovered = nextNotification(phone, NotificationKind.recovered);
    await laptop.reportActivity(NotificationKind.recovered, 2);
    assert.equal((await recovered).count, 2);
    // Notifications reach a device in order: the report comes after every announcement above.
    const vaultKinds: number[] = [NotificationKind.guessesSpent, NotificationKind.recovered];
    assert.deepEqual(
      seen.filter((s) => vaultKinds.includes(s.kind)).map((s) => [s.kind, s.count]),
      [
        [NotificationKind.guessesSpent, 2],
        [NotificationKind.recovered, 2],
      ],
    );
  });

  it('delivers what a device missed while offline, once', async () => {
    const phoneId = DeviceIdentity.generate('amy');
    const phone = await h.join('amy', phoneId);
    phone.close();
    const tabletId = DeviceIdentity.generate('amy');
    const tablet = await h.join('amy', tabletId);
    await tablet.reportActivity(NotificationKind.passwordChanged);

    const seen: Notification[] = [];
    const back = await h.connect(phoneId);
    await new Promise((r) => setTimeout(r, 50));
    back.onNotification((n) => seen.push(n));
    assert.deepEqual(
      seen.map((n) => n.kind),
      [NotificationKind.deviceJoined, NotificationKind.passwordChanged],
    );
    const seenAgain: Notification[] = [];
    const third = await h.connect(phoneId);
    await new Promise((r) => setTimeout(r, 50));
    third.onNotification((n) => seenAgain.push(n));
    assert.deepEqual(seenAgain, []);
  });

  it('refuses activity kinds only ChatD may announce', () => {
    assert.throws(
      () => new ReportActivity(NotificationKind.deviceApproved),
      /cannot be reported by a device/,
    );
    assert.throws(
      () => ReportActivity.deserialize(Uint8Array.of(NotificationKind.guessesSpent, 0, 0, 0, 9)),
      MalformedFrameError,
    );
  });
});
