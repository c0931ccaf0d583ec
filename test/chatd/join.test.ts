// ChatD join and authentication (src/chatd/connection.ts, join-codes.ts; docs/CHATD.md "Join codes"):
// real server, real WebSocket clients.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { ChatdRequestError } from '../../src/client/chatd/errors.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { ChatdVaultTransport } from '../../src/client/chatd/vault-transport.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { UnavailableError } from '../../src/errors.ts';
import { ErrorCode } from '../../src/protocol/chatd/errors.ts';
import { DeviceState } from '../../src/protocol/chatd/handshake.ts';
import { type Harness, startChatd, vaultFrame } from './helpers.ts';

async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode, detail?: number) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ChatdRequestError, `expected ChatdRequestError, got ${error}`);
    assert.equal(error.code, code);
    if (detail !== undefined) assert.equal(error.detail, detail);
    return true;
  });
}

describe('join with a code', () => {
  let h: Harness;
  let clock = Date.now();
  before(async () => {
    h = await startChatd({ now: () => clock });
  });
  after(() => h.close());

  it('registers a device with the right code and creates the account', async () => {
    const identity = DeviceIdentity.generate('+15550001');
    const client = await h.connect(identity);
    assert.equal(client.deviceState, DeviceState.unregistered);
    const sent = await client.requestJoinCode();
    assert.equal(sent.codeLength, 8);
    assert.equal(sent.expiresInSeconds, 600);
    const code = h.sender.latest('+15550001');
    assert.match(code, /^[0-9]{8}$/);
    assert.equal(await client.submitJoinCode(code), DeviceState.active);
    const info = await client.accountInfo();
    assert.equal(info.devices.length, 1);
    assert.deepEqual(info.devices[0]!.publicKey, identity.publicKey);
    // A new connection with the same key is recognised without a code.
    const again = await h.connect(identity);
    assert.equal(again.deviceState, DeviceState.active);
  });

  it('counts wrong codes down to zero, then the code is gone even if right', async () => {
    const client = await h.connect(DeviceIdentity.generate('+15550002'));
    await client.requestJoinCode();
    const code = h.sender.latest('+15550002');
    const wrong = code === '00000000' ? '11111111' : '00000000';
    await rejectsWithCode(client.submitJoinCode(wrong), ErrorCode.wrongCode, 2);
    await rejectsWithCode(client.submitJoinCode(wrong), ErrorCode.wrongCode, 1);
    await rejectsWithCode(client.submitJoinCode(wrong), ErrorCode.wrongCode, 0);
    await rejectsWithCode(client.submitJoinCode(code), ErrorCode.codeExpired);
    assert.equal((await client.accountInfo().catch((e) => e)).code, ErrorCode.unauthenticated);
  });

  it('refuses an expired code', async () => {
    const client = await h.connect(DeviceIdentity.generate('+15550003'));
    await client.requestJoinCode();
    clock += 600_000;
    await rejectsWithCode(client.submitJoinCode(h.sender.latest('+15550003')), ErrorCode.codeExpired);
    assert.equal(client.deviceState, DeviceState.unregistered);
  });

  it('binds a code to the device that asked for it', async () => {
    const asker = await h.connect(DeviceIdentity.generate('+15550004'));
    await asker.requestJoinCode();
    const other = await h.connect(DeviceIdentity.generate('+15550004'));
    await rejectsWithCode(other.submitJoinCode(h.sender.latest('+15550004')), ErrorCode.codeExpired);
    assert.equal(await asker.submitJoinCode(h.sender.latest('+15550004')), DeviceState.active);
  });

  it('limits code requests per user id (3, then one per 10 minutes)', async () => {
    const client = await h.connect(DeviceIdentity.generate('+15550005'));
    for (let i = 0; i < 3; i++) await client.requestJoinCode();
    await assert.rejects(client.requestJoinCode(), UnavailableError);
    assert.equal(h.sender.codes.get('+15550005')?.length, 3);
  });
});

describe('a device without a valid join', () => {
  let h: Harness;
  before(async () => {
    h = await startChatd();
  });
  after(() => h.close());

  it('cannot use the vault, the blobs, the backup list or the account', async () => {
    await h.join('alice');
    const stranger = await h.connect(DeviceIdentity.generate('alice'));
    assert.equal(stranger.deviceState, DeviceState.unregistered);
    await rejectsWithCode(
      new ChatdVaultTransport(stranger).exchange(vaultFrame('alice')),
      ErrorCode.unauthenticated,
    );
    await rejectsWithCode(stranger.listBackups(), ErrorCode.unauthenticated);
    await rejectsWithCode(stranger.accountInfo(), ErrorCode.unauthenticated);
  });

  it('cannot authenticate with a key it does not hold', async () => {
    const alice = DeviceIdentity.generate('bob');
    await h.join('bob', alice);
    // An impostor presents alice's public key but signs with its own secret key.
    const impostor = DeviceIdentity.generate('bob');
    Object.defineProperty(impostor, 'publicKey', { value: alice.publicKey });
    await assert.rejects(
      ChatdClient.connect({ url: h.server.url, identity: impostor, openSocket: openNodeSocket }),
      (error: unknown) => error instanceof ChatdRequestError && error.code === ErrorCode.unauthenticated,
    );
  });

  it('is refused for a user id that is not its account', async () => {
    const carol = DeviceIdentity.generate('carol');
    await h.join('carol', carol);
    const asDave = new DeviceIdentity('dave', carol.exportSecretKey());
    const client = await h.connect(asDave);
    assert.equal(client.deviceState, DeviceState.unregistered);
  });
});
