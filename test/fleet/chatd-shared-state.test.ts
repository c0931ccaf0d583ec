// ChatD as a stateless front end over shared state (docs/CHATD.md "ChatD across regions"): three
// real `strongroom chatd` processes in regions eu, us and ap share one account store in a real
// 3-member etcd cluster and one S3 bucket (s3rver, a real S3 server on loopback), in front of a
// real 3-region vault fleet on the same cluster. Approval set through one region guards joins
// through another; a killed region's backups are restored through another by the same device,
// without a new join; concurrent joins through two regions make one account; the per-account
// vault limit holds across regions; etcd members killed under load give "unavailable", then
// everything is back with nothing lost.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChatdBlobStore } from '../../src/client/chatd/blob-store.ts';
import type { ChatdClient } from '../../src/client/chatd/client.ts';
import { ChatdRequestError } from '../../src/client/chatd/errors.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { ChatdVaultTransport } from '../../src/client/chatd/vault-transport.ts';
import { createBackup, restoreBackup } from '../../src/client/node/backup.ts';
import { VaultClient } from '../../src/client/vault/client.ts';
import { NoRecordError, UnavailableError } from '../../src/errors.ts';
import { BackupKey } from '../../src/format/key.ts';
import { ErrorCode } from '../../src/protocol/chatd/errors.ts';
import { DeviceState } from '../../src/protocol/chatd/handshake.ts';
import { type Notification, NotificationKind } from '../../src/protocol/chatd/notification.ts';
import { recordIdFor } from '../../src/protocol/chatd/record-id.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { eventually, retryUntilAvailable } from '../helpers/eventually.ts';
import { type LocalS3, startLocalS3 } from '../stores/blob/s3rver.ts';
import { ChatdProcess } from './chatd-process.ts';
import { ProcessFleet, TEST_ARGON2ID } from './fleet.ts';

const REGIONS = ['eu', 'us', 'ap'] as const;
const BUCKET = 'chatd-blobs';

let etcd: EtcdCluster;
let s3: LocalS3;
let fleet: ProcessFleet;
const chatds = new Map<string, ChatdProcess>();
const clients: ChatdClient[] = [];

before(async () => {
  etcd = await EtcdCluster.start(3);
  s3 = await startLocalS3([BUCKET]);
  fleet = await ProcessFleet.start({
    store: etcd.url('shared-records'),
    regions: [...REGIONS],
    nodeArgs: ['--peer-timeout', '1000', '--store-timeout', '600'],
  });
  await Promise.all(
    REGIONS.map(async (region) => {
      const dir = join(fleet.dir, `chatd-${region}`);
      mkdirSync(dir);
      const config = {
        format: 'strongroom-chatd/v1',
        listen: '127.0.0.1:0',
        region,
        dataDir: 'data',
        fleetPub: fleet.fleetPubPath,
        nodes: fleet.publicInfo.members.map((member) => ({
          name: member.name,
          url: fleet.nodes[member.index]!.url,
        })),
        relayTimeoutMs: 5000,
        accountStore: etcd.url('shared-chatd'),
        blobStore: `s3://${BUCKET}/chatd`,
      };
      writeFileSync(join(dir, 'chatd.json'), JSON.stringify(config));
      const env = { ...s3.env, AWS_ENDPOINT_URL: s3.endpoint };
      chatds.set(region, await ChatdProcess.start(join(dir, 'chatd.json'), env));
    }),
  );
});
after(async () => {
  for (const client of clients) client.close();
  await Promise.all([...chatds.values()].map((chatd) => chatd.stop()));
  await fleet?.close();
  await s3?.stop();
  await etcd?.destroy();
});

function chatd(region: string): ChatdProcess {
  return chatds.get(region)!;
}

async function join_(region: string, userId: string, identity?: DeviceIdentity): Promise<ChatdClient> {
  const client = await chatd(region).joinDevice(userId, identity);
  clients.push(client);
  return client;
}

function vaultOf(client: ChatdClient): VaultClient {
  return new VaultClient({
    fleet: fleet.publicInfo,
    transport: new ChatdVaultTransport(client),
    argon2id: TEST_ARGON2ID,
  });
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('ChatDs in three regions over one account store and one bucket', () => {
  it('guards a join through another region with the approval set in the first, and tells it', async () => {
    const first = await join_('eu', 'ann');
    const told: Notification[] = [];
    first.onNotification((n) => told.push(n));
    await first.setRequireApproval(true);
    const recordId = recordIdFor(fleet.publicInfo.fleetId, 'ann');

    const identity = DeviceIdentity.generate('ann');
    const second = await join_('us', 'ann', identity);
    assert.equal(second.deviceState, DeviceState.pending, 'us sees the approval set through eu');
    await assert.rejects(
      vaultOf(second).status(recordId),
      (error) => error instanceof ChatdRequestError && error.code === ErrorCode.approvalRequired,
    );
    await eventually(
      async () => told,
      (seen) =>
        seen.some(
          (n) =>
            n.kind === NotificationKind.deviceJoinedPending &&
            hex(n.subjectDevice) === hex(identity.publicKey),
        ),
      'the device on eu is told of the pending join through us',
    );

    await first.decideDevice(identity.publicKey, true);
    // Approved through eu, the us device reaches the vault: it answers that there is no record yet.
    await assert.rejects(vaultOf(second).status(recordId), NoRecordError);
    const info = await first.accountInfo();
    assert.deepEqual(
      info.devices.map((d) => [hex(d.publicKey), d.state]).sort(),
      [
        [hex(identity.publicKey), DeviceState.active],
        [
          hex(info.devices.find((d) => hex(d.publicKey) !== hex(identity.publicKey))!.publicKey),
          DeviceState.active,
        ],
      ].sort(),
      'one account, two active devices',
    );
  });

  it('makes one account of joins through three regions at the same moment, every device listed once', async () => {
    // One join per region: the development code sender prints codes per ChatD, and the user's
    // join-code bucket (3 at once, shared) allows three.
    const identities = REGIONS.map(() => DeviceIdentity.generate('cy'));
    const joined = await Promise.all(identities.map((identity, i) => join_(REGIONS[i]!, 'cy', identity)));
    assert.ok(joined.every((client) => client.deviceState === DeviceState.active));
    const listed = (await joined[0]!.accountInfo()).devices.map((d) => hex(d.publicKey)).sort();
    assert.deepEqual(listed, identities.map((identity) => hex(identity.publicKey)).sort());
  });

  it('holds the join-code limit per user across regions (3 at once)', async () => {
    const sent = await Promise.all(
      [...REGIONS, 'eu', 'us'].map(async (region) => {
        const client = await chatd(region).connect(DeviceIdentity.generate('flo'));
        clients.push(client);
        return client.requestJoinCode().then(
          () => 'sent' as const,
          (error: unknown) => {
            assert.ok(
              error instanceof UnavailableError && /too many join codes for flo/.test(error.message),
              String(error),
            );
            return 'limited' as const;
          },
        );
      }),
    );
    assert.deepEqual(
      sent.filter((s) => s === 'sent').length,
      3,
      `five requests through three regions: ${sent}`,
    );
  });

  it('holds the per-account vault limit across two regions (30 at once, one every 2 s)', async () => {
    const [onEu, onUs] = await Promise.all([join_('eu', 'dee'), join_('us', 'dee')]);
    const recordId = recordIdFor(fleet.publicInfo.fleetId, 'dee');
    const started = Date.now();
    // 25 requests through each region: 50 in all, against a burst of 30 for the account.
    const outcomes = await Promise.all(
      [onEu, onUs].flatMap((client) =>
        Array.from({ length: 25 }, () =>
          vaultOf(client)
            .status(recordId)
            .then(
              () => 'allowed' as const,
              (error: unknown) => {
                // The vault's own answer (no record yet) means ChatD let the request through.
                if (error instanceof NoRecordError) return 'allowed' as const;
                if (
                  error instanceof UnavailableError &&
                  /too many vault requests for this account/.test(error.message)
                )
                  return 'limited' as const;
                throw error;
              },
            ),
        ),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    const allowed = outcomes.filter((o) => o === 'allowed').length;
    // The bucket refills at 0.5 per second while the requests run: the tolerance is that refill.
    assert.ok(allowed >= 30, `the burst is served: ${allowed}`);
    assert.ok(
      allowed <= 30 + Math.ceil(seconds * 0.5),
      `${allowed} allowed in ${seconds} s across both regions`,
    );
    assert.equal(outcomes.length - allowed, outcomes.filter((o) => o === 'limited').length);
  });

  it('answers "unavailable" when the store loses its quorum, and recovers with nothing lost', async () => {
    const identities = REGIONS.map(() => DeviceIdentity.generate('eve'));
    const device = await join_('ap', 'eve', identities[0]);
    // A member dies while joins are under way: each one finishes or fails as unavailable.
    const joins = (['eu', 'us'] as const).map((region, i) =>
      join_(region, 'eve', identities[i + 1]).then(
        () => true,
        (error: unknown) => {
          assert.ok(error instanceof UnavailableError, `a failed join says unavailable: ${String(error)}`);
          return false;
        },
      ),
    );
    await etcd.kill(0);
    const landed = await Promise.all(joins);
    await etcd.kill(1);
    try {
      await assert.rejects(
        device.accountInfo(),
        (error) =>
          error instanceof UnavailableError && /ChatD could not complete the request/.test(error.message),
      );
    } finally {
      await etcd.restart(0);
      await etcd.restart(1);
    }
    const info = await retryUntilAvailable(() => device.accountInfo(), 20_000);
    const listed = new Set(info.devices.map((d) => hex(d.publicKey)));
    assert.ok(listed.has(hex(identities[0]!.publicKey)), 'the first device is still there');
    for (const [i, ok] of landed.entries())
      if (ok)
        assert.ok(listed.has(hex(identities[i + 1]!.publicKey)), 'every join that was answered is kept');
  });

  it("restores through another region, with the same device, after the backup's region is killed", async () => {
    const identity = DeviceIdentity.generate('bob');
    const onAp = await join_('ap', 'bob', identity);
    const recordId = recordIdFor(fleet.publicInfo.fleetId, 'bob');
    const key = BackupKey.generate((n) => new Uint8Array(randomBytes(n)));
    await vaultOf(onAp).enable(recordId, 'right password', key.exposeBytes(), 5);
    const source = mkdtempSync(join(tmpdir(), 'chatd-shared-src-'));
    const target = mkdtempSync(join(tmpdir(), 'chatd-shared-out-'));
    try {
      const content = randomBytes(3 * 1024 * 1024 + 17);
      writeFileSync(join(source, 'chats.db'), content);
      const created = await createBackup([source], { key, store: new ChatdBlobStore(onAp) });
      assert.ok(created.complete);

      await chatd('ap').kill();
      // The same device connects to eu: it is the same device there, no new join.
      const onEu = await chatd('eu').connect(identity);
      clients.push(onEu);
      assert.equal(onEu.deviceState, DeviceState.active);
      const recovered = await vaultOf(onEu).recover(recordId, 'right password');
      const restored = await restoreBackup({
        key: recovered.key,
        store: new ChatdBlobStore(onEu),
        to: join(target, 'out'),
      });
      assert.equal(restored.id, created.id);
      const [folder] = [source.split('/').at(-1)!];
      assert.deepEqual(readFileSync(join(target, 'out', folder, 'chats.db')), content);
    } finally {
      rmSync(source, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
    }
  });
});
