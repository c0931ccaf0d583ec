// ChatD failing over between vault nodes with the real vault behind it (src/chatd/vault-relay.ts,
// src/server/embedded.ts): the nearest node is a real HTTP server that fails (503, then a closed
// port); the in-process fleet answers; enabling and recovering still work and no guess is lost.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { ChatdVaultTransport } from '../../src/client/chatd/vault-transport.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { VaultClient } from '../../src/client/vault/client.ts';
import { WrongPasswordError } from '../../src/errors.ts';
import { recordIdFor } from '../../src/protocol/chatd/record-id.ts';
import { EmbeddedServer } from '../../src/server/embedded.ts';
import { EchoVaultNode } from '../chatd/helpers.ts';

describe('vault failover with the real fleet', () => {
  let root: string;
  let failing: EchoVaultNode;
  let server: EmbeddedServer;
  let code = '';
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'failover-'));
    failing = await EchoVaultNode.start();
    failing.behaviour = 'http-500';
    server = await EmbeddedServer.start({
      dataDir: root,
      codeSender: {
        send: async (_user, sent) => {
          code = sent;
        },
      },
      // The fleet's nodes are in region "local" (the ceremony's default): so is the failing one.
      otherVaultNodes: [failing.vaultNode('remote-0', 'local')],
    });
  });
  after(async () => {
    await server.close();
    await failing.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('enables and recovers through another node when the nearest one fails', async () => {
    const client = await ChatdClient.connect({
      url: server.url,
      identity: DeviceIdentity.generate('dora'),
      openSocket: openNodeSocket,
    });
    await client.requestJoinCode();
    await client.submitJoinCode(code);
    const vault = new VaultClient({
      fleet: server.fleet,
      transport: new ChatdVaultTransport(client),
      argon2id: { memory: 1024, iterations: 1, parallelism: 1 },
    });
    const recordId = recordIdFor(server.fleet.fleetId, 'dora');
    const key = new Uint8Array(32).fill(5);
    await vault.enable(recordId, 'pw', key, 4);
    assert.ok(failing.hits >= 1, 'the failing node was tried first');
    await failing.close(); // now its port is closed
    await assert.rejects(
      vault.recover(recordId, 'wrong'),
      (e: unknown) => e instanceof WrongPasswordError && e.guessesLeft === 3,
    );
    const recovered = await vault.recover(recordId, 'pw');
    assert.deepEqual(recovered.key.exposeBytes(), key);
    assert.equal(recovered.guessesLeft, 3, 'failover cost no extra guess');
    client.close();
  });
});
