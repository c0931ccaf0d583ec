// ChatD's announcements of vault activity through a real ChatD and a real vault (docs/CHATD.md
// "Notifications", docs/PROTOCOL.md §9d): guesses are announced as the vault host counts the spends
// it committed — one per paid password test — and not for a retried KE1, a "locked" answer, a
// status or a registration.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { HttpVaultNode } from '../../src/chatd/vault-relay.ts';
import type { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { ChatdVaultTransport } from '../../src/client/chatd/vault-transport.ts';
import type { VaultTransport } from '../../src/client/vault/transport.ts';
import { LockedError, WrongPasswordError } from '../../src/errors.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { type Notification, NotificationKind } from '../../src/protocol/chatd/notification.ts';
import { recordIdFor } from '../../src/protocol/chatd/record-id.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import { startTestFleet, type TestFleet } from '../vault-host/helpers/fleet.ts';
import { type Harness, startChatd } from './helpers.ts';

let vault: TestFleet;
let h: Harness;
before(async () => {
  vault = await startTestFleet();
  const host = await vault.serve(0);
  h = await startChatd({
    vaultNodes: [new HttpVaultNode('node-0', 'local', `${host.url}/v1/vault`)],
    fleetIds: [vault.publicInfo.fleetId],
  });
});
after(async () => {
  await h.close();
  await vault.close();
});

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

it('announces one guess per paid password test, and nothing for a retry, a "locked" answer or a status', async () => {
  const phone = await h.join('nora');
  const laptopId = DeviceIdentity.generate('nora');
  const laptop = await h.join('nora', laptopId);
  const seen: Notification[] = [];
  phone.onNotification((n) => seen.push(n));
  const recordId = recordIdFor(vault.publicInfo.fleetId, 'nora');
  const key = nodePrimitives.randomBytes(32);
  // The laptop's vault traffic goes through ChatD. While `retrying`, each login start is sent twice,
  // as a flaky network would: the second is a retry of a paid KE1, which the vault answers (a KE2
  // for the same spend) without spending again.
  const relayed = new ChatdVaultTransport(laptop);
  let retrying = true;
  const transport: VaultTransport = {
    async exchange(frame) {
      const answer = await relayed.exchange(frame);
      return retrying && frame[5] === VaultOp.loginStart ? relayed.exchange(frame) : answer;
    },
  };
  const device = vault.client({ transport });

  await device.enable(recordId, 'right', key, 3);
  const recovered = await device.recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.version, 3, 'create, one spend, its refund: the retry spent nothing');
  retrying = false;
  await device.status(recordId);
  for (const attempt of [1, 2, 3])
    await assert.rejects(device.recover(recordId, `wrong ${attempt}`), WrongPasswordError);
  await assert.rejects(device.recover(recordId, 'right'), LockedError);

  // Notifications reach a device in order: this report comes after every announcement above.
  const fence = nextNotification(phone, NotificationKind.backupEnabled);
  await laptop.reportActivity(NotificationKind.backupEnabled);
  await fence;
  const spent = seen.filter((n) => n.kind === NotificationKind.guessesSpent);
  assert.deepEqual(
    spent.map((n) => n.count),
    [1, 1, 1, 1],
    'the right password once, then three wrong ones: four spends, each announced once',
  );
  for (const n of spent) assert.deepEqual(n.subjectDevice, laptopId.publicKey);
});
