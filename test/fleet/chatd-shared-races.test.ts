// Two real `strongroom chatd` processes (regions eu and us) made one deployment by the flags
// --account-store (a real 3-member etcd cluster) and --blob-store (s3rver, a real S3 server on
// loopback), with no store in their config file (docs/CHATD.md "ChatD across regions"). The vault
// nodes are the echo servers of test/chatd/helpers.ts: nothing here reaches the vault. Shown: a
// device is the same device through either ChatD; uploads through both at once into one account
// near its quota never go over it and never lose a blob; an approval racing a join through the
// other ChatD leaves the new device listed once, pending, then approved; a notification crosses
// ChatDs through the etcd watch with no round of polling; /ready names the account store while
// etcd has no quorum and is 200 once it is back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EtcdAccountStore } from '../../src/chatd/etcd-account-store.ts';
import { ChatdBlobStore } from '../../src/client/chatd/blob-store.ts';
import type { ChatdClient } from '../../src/client/chatd/client.ts';
import { ChatdRequestError } from '../../src/client/chatd/errors.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { ErrorCode } from '../../src/protocol/chatd/errors.ts';
import { DeviceState } from '../../src/protocol/chatd/handshake.ts';
import { type Notification, NotificationKind } from '../../src/protocol/chatd/notification.ts';
import { S3BlobStore } from '../../src/stores/blob/s3.ts';
import { EchoVaultNode, testFleet } from '../chatd/helpers.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { eventually, retryUntilAvailable } from '../helpers/eventually.ts';
import { type LocalS3, startLocalS3 } from '../stores/blob/s3rver.ts';
import { ChatdProcess } from './chatd-process.ts';

const BUCKET = 'chatd-races';
const PREFIX = 'races/';
const MiB = 1024 * 1024;
const QUOTA = 3 * MiB;

let dir: string;
let etcd: EtcdCluster;
let s3: LocalS3;
let node: EchoVaultNode;
let eu: ChatdProcess;
let us: ChatdProcess;
/** The test's own view of the shared account store (account numbers, the blob index). */
let accounts: EtcdAccountStore;
const clients: ChatdClient[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chatd-races-'));
  [etcd, s3, node] = await Promise.all([EtcdCluster.start(3), startLocalS3([BUCKET]), EchoVaultNode.start()]);
  writeFileSync(join(dir, 'fleet.pub'), testFleet(['eu']).toText());
  const start = (region: string) => {
    const config = join(dir, `${region}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        format: 'strongroom-chatd/v1',
        listen: '127.0.0.1:0',
        region,
        dataDir: `data-${region}`,
        fleetPub: 'fleet.pub',
        nodes: [{ name: 'node-0', url: `http://127.0.0.1:${(node.server.address() as AddressInfo).port}` }],
        quotaBytes: QUOTA,
        metrics: true,
      }),
    );
    return ChatdProcess.start(config, s3.env, [
      '--account-store',
      etcd.url(PREFIX.slice(0, -1)),
      '--blob-store',
      `s3://${BUCKET}/chatd`,
      '--s3-endpoint',
      s3.endpoint,
    ]);
  };
  [eu, us] = await Promise.all([start('eu'), start('us')]);
  accounts = new EtcdAccountStore({ hosts: etcd.endpoints(), prefix: PREFIX });
});
after(async () => {
  for (const client of clients) client.close();
  await Promise.all([eu?.stop(), us?.stop()]);
  await accounts?.close();
  await Promise.all([node?.close(), s3?.stop(), etcd?.destroy()]);
  rmSync(dir, { recursive: true, force: true });
});

async function joined(chatd: ChatdProcess, userId: string, identity?: DeviceIdentity): Promise<ChatdClient> {
  const client = await chatd.joinDevice(userId, identity);
  clients.push(client);
  return client;
}

/** `data` in two pieces; with `gate`, the upload's end waits for it (every byte sent, not finished). */
async function* bytes(data: Uint8Array, gate?: Promise<void>): AsyncIterable<Uint8Array> {
  const half = Math.floor(data.length / 2);
  yield data.subarray(0, half);
  yield data.subarray(half);
  await gate;
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

const filled = (size: number, byte: number) => new Uint8Array(size).fill(byte);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The objects in the bucket for `userId`'s account, and the objects its index points at. */
async function objectsOf(userId: string): Promise<{ stored: string[]; indexed: string[] }> {
  const account = await accounts.account(userId);
  assert.ok(account !== undefined);
  const bucket = new S3BlobStore(`s3://${BUCKET}/chatd/${account.id}`, { endpoint: s3.endpoint });
  return {
    stored: (await bucket.list()).map((b) => b.name).sort(),
    indexed: (await accounts.blobs(account.id, '')).map((b) => b.object).sort(),
  };
}

async function metric(chatd: ChatdProcess, name: string): Promise<number> {
  const text = await (await fetch(`${chatd.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line !== undefined, `${name} is served`);
  return Number(line.split(' ')[1]);
}

describe('two ChatDs made one deployment by --account-store and --blob-store', () => {
  it('knows a device joined through eu when it connects through us', async () => {
    const identity = DeviceIdentity.generate('ada');
    const onEu = await joined(eu, 'ada', identity);
    const onUs = await us.connect(identity);
    clients.push(onUs);
    assert.equal(onUs.deviceState, DeviceState.active, 'no new join through us');
    const store = new ChatdBlobStore(onEu);
    await store.put('hello', bytes(filled(1000, 7)));
    assert.deepEqual(await collect(new ChatdBlobStore(onUs).get('hello')), Buffer.from(filled(1000, 7)));
  });

  it('keeps the old blob when its replacement is refused because the other ChatD filled the quota', async () => {
    const onEu = await joined(eu, 'bea');
    const onUs = await joined(us, 'bea');
    const throughEu = new ChatdBlobStore(onEu);
    const throughUs = new ChatdBlobStore(onUs);
    const doc = filled(1 * MiB, 1);
    await throughEu.put('doc', bytes(doc));

    // eu receives every byte of a 2 MiB replacement of doc (2 of 3 MiB: allowed as eu sees it)
    // but not its end; meanwhile us stores 1.5 MiB under another name (2.5 MiB with the old doc:
    // allowed). Ended now, eu's replacement would make 3.5 MiB: it is refused when indexed, and
    // the old doc must still be there.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const replacing = throughEu.put('doc', bytes(filled(2 * MiB, 2), gate));
    await eventually(
      async () => (await onEu.accountInfo()).usedBytes,
      (used) => used >= BigInt(2 * MiB),
      'the whole replacement has reached eu',
      60_000,
    );
    await throughUs.put('other', bytes(filled(1.5 * MiB, 3)));
    open();
    await assert.rejects(
      replacing,
      (error) => error instanceof ChatdRequestError && error.code === ErrorCode.quotaExceeded,
    );
    assert.deepEqual(await collect(throughUs.get('doc')), Buffer.from(doc), 'the old doc is intact');
    assert.equal((await onUs.accountInfo()).usedBytes, BigInt(2.5 * MiB));
    const { stored, indexed } = await objectsOf('bea');
    assert.deepEqual(stored, indexed, 'the bucket holds exactly what the index points at');
  });

  it('never goes over the quota with uploads through both at once, and loses no blob', async () => {
    const onEu = await joined(eu, 'cai');
    const onUs = await joined(us, 'cai');
    const keep = filled(MiB, 9);
    await new ChatdBlobStore(onEu).put('keep', bytes(keep));
    // 1 MiB kept; ten uploads of 0.5 MiB through both ChatDs at once, each name twice (one per
    // ChatD): at most four names fit, and each name holds the whole of one of its two uploads.
    const uploads = Array.from({ length: 10 }, (_, i) => ({
      via: i < 5 ? onEu : onUs,
      name: `n${i % 5}`,
      data: filled(MiB / 2, 10 + i),
    }));
    const outcomes = await Promise.all(
      uploads.map(({ via, name, data }) =>
        new ChatdBlobStore(via).put(name, bytes(data)).then(
          () => 'stored' as const,
          (error: unknown) => {
            assert.ok(
              error instanceof ChatdRequestError && error.code === ErrorCode.quotaExceeded,
              String(error),
            );
            return 'refused' as const;
          },
        ),
      ),
    );
    const info = await onUs.accountInfo();
    assert.ok(info.usedBytes <= BigInt(QUOTA), `used ${info.usedBytes} of ${QUOTA}`);
    assert.ok(outcomes.includes('stored') && outcomes.includes('refused'), outcomes.join(','));
    const listed = await new ChatdBlobStore(onEu).list();
    let total = 0;
    for (const blob of listed) {
      const content = await collect(new ChatdBlobStore(onUs).get(blob.name));
      assert.equal(content.length, blob.size, `${blob.name} reads whole`);
      total += blob.size;
      if (blob.name === 'keep') assert.deepEqual(content, Buffer.from(keep));
      else {
        const candidates = uploads.filter((u, i) => u.name === blob.name && outcomes[i] === 'stored');
        assert.ok(
          candidates.some((u) => content.equals(u.data)),
          `${blob.name} holds one upload that was answered "stored"`,
        );
      }
    }
    assert.equal(BigInt(total), info.usedBytes, 'the quota counts what is listed');
    const { stored, indexed } = await objectsOf('cai');
    assert.deepEqual(stored, indexed, 'no object is left that the index does not point at');
  });

  it('lists a device that joins through us while eu approves another, once, pending, then approved', async () => {
    for (const userId of ['dot', 'eda']) {
      const first = await joined(eu, userId);
      await first.setRequireApproval(true);
      const waiting = DeviceIdentity.generate(userId);
      assert.equal((await joined(us, userId, waiting)).deviceState, DeviceState.pending);
      const newcomer = DeviceIdentity.generate(userId);
      // The approval and the join through the other ChatD at the same moment.
      const [, late] = await Promise.all([
        first.decideDevice(waiting.publicKey, true),
        joined(us, userId, newcomer),
      ]);
      const devices = (await first.accountInfo()).devices;
      const states = new Map(devices.map((d) => [hex(d.publicKey), d.state]));
      assert.equal(devices.length, 3, `three devices, each listed once (${userId})`);
      assert.equal(states.get(hex(waiting.publicKey)), DeviceState.active, 'the approval landed');
      // Approval was on and an active device existed before the race: the newcomer waits.
      assert.equal(late.deviceState, DeviceState.pending, 'the newcomer is told it waits');
      assert.equal(states.get(hex(newcomer.publicKey)), DeviceState.pending, 'and is listed so');
      await first.decideDevice(newcomer.publicKey, true);
      const after = (await late.accountInfo()).devices.find(
        (d) => hex(d.publicKey) === hex(newcomer.publicKey),
      );
      assert.equal(after?.state, DeviceState.active, 'approved later, through the other ChatD');
    }
  });

  it('tells a device on eu of a join through us by the watch, with no round of polling', async () => {
    const onEu = await joined(eu, 'fox');
    const told: Notification[] = [];
    onEu.onNotification((n) => told.push(n));
    const newcomer = DeviceIdentity.generate('fox');
    await joined(us, 'fox', newcomer);
    await eventually(
      async () => told,
      (seen) =>
        seen.some(
          (n) => n.kind === NotificationKind.deviceJoined && hex(n.subjectDevice) === hex(newcomer.publicKey),
        ),
      'eu pushes the join to its device',
    );
    assert.equal(await metric(eu, 'chatd_notification_polls_total'), 0, 'eu never polled the log');
    assert.equal(await metric(us, 'chatd_notification_polls_total'), 0, 'nor did us');
  });

  it('answers /ready 503 naming the account store while etcd has no quorum, 200 once it is back', async () => {
    const ready = async () => {
      const response = await fetch(`${eu.httpUrl}/ready`);
      return { status: response.status, body: (await response.json()) as { reason?: string } };
    };
    assert.equal((await ready()).status, 200);
    const device = await joined(us, 'gus');
    await etcd.kill(0);
    await etcd.kill(1);
    try {
      const down = await ready();
      assert.equal(down.status, 503);
      assert.match(down.body.reason ?? '', /account store \(etcd\) is unreachable or has no quorum/);
      // The watch ends with the quorum; the notifier falls back to polling meanwhile.
      await eventually(
        () => metric(us, 'chatd_notification_polls_total'),
        (polls) => polls > 0,
        'us polls while it cannot watch',
        30_000,
      );
    } finally {
      await etcd.restart(0);
      await etcd.restart(1);
    }
    await eventually(
      async () => (await ready()).status,
      (status) => status === 200,
      '/ready is 200 again',
      30_000,
    );
    // Back: a join through eu is told to the device on us, nothing lost.
    const told: Notification[] = [];
    device.onNotification((n) => told.push(n));
    const newcomer = DeviceIdentity.generate('gus');
    await retryUntilAvailable(() => joined(eu, 'gus', newcomer), 30_000);
    await eventually(
      async () => told,
      (seen) => seen.some((n) => hex(n.subjectDevice) === hex(newcomer.publicKey)),
      'the join is told across ChatDs after the outage',
    );
  });
});
