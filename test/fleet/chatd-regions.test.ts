// ChatDs in several regions in front of one fleet (issue 5 "Deployment" and "Tests"; DESIGN
// sections 4 and 5): three `strongroom vault node` processes in regions eu, us and ap over a real
// 3-member etcd cluster, and one real `strongroom chatd --config FILE` process per region (a
// process each, as deployed: the point is ChatDs that share nothing but the fleet). Devices of one
// user attached to different ChatDs guess concurrently: exactly `limit` guesses are counted. A
// ChatD whose own-region node is killed fails over to another region's node.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChatdClient } from '../../src/client/chatd/client.ts';
import { ChatdVaultTransport } from '../../src/client/chatd/vault-transport.ts';
import { VaultClient } from '../../src/client/vault/client.ts';
import { LockedError, WrongPasswordError } from '../../src/errors.ts';
import { recordIdFor } from '../../src/protocol/chatd/record-id.ts';
import { CertifiedState, RecordStatus } from '../../src/protocol/vault/record.ts';
import { openRecordStore } from '../../src/stores/record/index.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { eventually } from '../helpers/eventually.ts';
import { ChatdProcess } from './chatd-process.ts';
import { ProcessFleet, TEST_ARGON2ID } from './fleet.ts';

const REGIONS = ['eu', 'us', 'ap'] as const;

let etcd: EtcdCluster;
let fleet: ProcessFleet;
let store: RecordStore;
const chatds = new Map<string, ChatdProcess>();
const clients: ChatdClient[] = [];

before(async () => {
  etcd = await EtcdCluster.start(3);
  const url = etcd.url('chatd-regions');
  fleet = await ProcessFleet.start({
    store: url,
    regions: [...REGIONS],
    nodeArgs: ['--peer-timeout', '1000', '--store-timeout', '600'],
  });
  store = openRecordStore(url);
  await Promise.all(
    REGIONS.map(async (region) => {
      const dir = join(fleet.dir, `chatd-${region}`);
      mkdirSync(dir);
      // The own region's node is listed LAST, so preferring it shows in the order of failures.
      const members = [...fleet.publicInfo.members].sort(
        (a, b) => Number(a.region === region) - Number(b.region === region),
      );
      const config = {
        format: 'strongroom-chatd/v1',
        listen: '127.0.0.1:0',
        region,
        dataDir: 'data',
        fleetPub: fleet.fleetPubPath,
        nodes: members.map((member) => ({ name: member.name, url: fleet.nodes[member.index]!.url })),
        relayTimeoutMs: 5000,
      };
      writeFileSync(join(dir, 'chatd.json'), JSON.stringify(config));
      chatds.set(region, await ChatdProcess.start(join(dir, 'chatd.json')));
    }),
  );
});
after(async () => {
  for (const client of clients) client.close();
  assert.deepEqual(
    await Promise.all([...chatds.values()].map((chatd) => chatd.stop())),
    [0, 0, 0],
    'every ChatD stops cleanly on SIGTERM',
  );
  await store?.close();
  await fleet?.close();
  await etcd?.destroy();
});

/** A device of `userId` on the ChatD of `region`, with its vault client. */
async function device(region: string, userId: string): Promise<VaultClient> {
  const client = await chatds.get(region)!.joinDevice(userId);
  clients.push(client);
  return new VaultClient({
    fleet: fleet.publicInfo,
    transport: new ChatdVaultTransport(client),
    argon2id: TEST_ARGON2ID,
  });
}

describe('one ChatD per region in front of a 3-region fleet', () => {
  it('counts exactly `limit` concurrent wrong guesses from devices on different ChatDs, then locks', async () => {
    const userId = 'carol';
    const recordId = recordIdFor(fleet.publicInfo.fleetId, userId);
    const devices = await Promise.all(REGIONS.map((region) => device(region, userId)));
    const limit = 4;
    await devices[0]!.enable(recordId, 'right password', new Uint8Array(32).fill(7), limit);

    // Every device guesses wrong three times in a row, all three at once: 9 attempts for 4 guesses.
    const outcomes = (
      await Promise.all(
        devices.map(async (vault) => {
          const seen: unknown[] = [];
          for (let attempt = 0; attempt < 3; attempt++) {
            seen.push(
              await vault.recover(recordId, 'wrong').then(
                (ok) => ok,
                (error: unknown) => error,
              ),
            );
          }
          return seen;
        }),
      )
    ).flat();
    const wrong = outcomes.filter((outcome) => outcome instanceof WrongPasswordError);
    const locked = outcomes.filter((outcome) => outcome instanceof LockedError);
    assert.deepEqual(
      wrong.map((error) => error.guessesLeft).sort(),
      [0, 1, 2, 3],
      'each guess counted once: guesses left 3, 2, 1, 0, each answered exactly once',
    );
    assert.equal(
      locked.length,
      outcomes.length - limit,
      `everything else is locked: ${outcomes.map(String)}`,
    );

    for (const vault of devices) await assert.rejects(vault.recover(recordId, 'right password'), LockedError);
    const slot = await eventually(
      () => store.get(recordId),
      (found) =>
        found?.committed !== undefined &&
        CertifiedState.deserialize(found.committed).state.status === RecordStatus.locked,
      'a host locks the exhausted record',
    );
    assert.equal(slot?.intent, undefined, 'no intent left behind');
  });

  it("fails over to another region when its own region's node is killed", async () => {
    const eu = chatds.get('eu')!;
    const euNode = fleet.publicInfo.members.find((member) => member.region === 'eu')!;
    const vault = await device('eu', 'dave');
    const recordId = recordIdFor(fleet.publicInfo.fleetId, 'dave');
    const key = new Uint8Array(32).fill(9);
    await vault.enable(recordId, 'right password', key, 5);
    assert.deepEqual(eu.failedNodes(), [], 'with every node up, no node failed');

    await fleet.nodes[euNode.index]!.kill();
    try {
      await assert.rejects(
        vault.recover(recordId, 'wrong'),
        (error) => error instanceof WrongPasswordError && error.guessesLeft === 4,
      );
      const recovered = await vault.recover(recordId, 'right password');
      assert.deepEqual(recovered.key.exposeBytes(), key);
      // The wrong guess stays spent; the right one was refunded (DESIGN section 3).
      assert.equal(recovered.guessesLeft, 4);
      assert.equal(recovered.failedGuessesSinceLastSuccess, 1);
      // The eu node is listed last in eu's config: failing on it first means the own region came first.
      assert.equal(eu.failedNodes()[0], euNode.name);
      assert.deepEqual(new Set(eu.failedNodes()), new Set([euNode.name]), 'only the dead node failed');
    } finally {
      await fleet.nodes[euNode.index]!.start();
    }
  });
});
