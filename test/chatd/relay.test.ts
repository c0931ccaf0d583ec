// ChatD's vault relay (src/chatd/vault-relay.ts, connection.ts; docs/CHATD.md "Vault relay"): record
// binding, failover, "unavailable", rate limits. The vault nodes are real HTTP servers on loopback
// that echo frames (helpers.ts); the real fleet is exercised end to end in test/e2e.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { ChatdRequestError } from '../../src/client/chatd/errors.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { ChatdVaultTransport } from '../../src/client/chatd/vault-transport.ts';
import { UnavailableError } from '../../src/errors.ts';
import { ErrorCode } from '../../src/protocol/chatd/errors.ts';
import { deserializeResponseFrame } from '../../src/protocol/vault/frames.ts';
import { EchoVaultNode, type Harness, startChatd, vaultFrame } from './helpers.ts';

/** The request frame an echo node answered with (it returns the request as its "ciphertext"). */
function echoed(response: Uint8Array): Uint8Array {
  const parsed = deserializeResponseFrame(response);
  assert.equal(parsed.kind, 'sealed');
  return parsed.kind === 'sealed' ? parsed.ciphertext : new Uint8Array();
}

describe('vault relay', () => {
  let near: EchoVaultNode;
  let far: EchoVaultNode;
  let h: Harness;
  before(async () => {
    near = await EchoVaultNode.start();
    far = await EchoVaultNode.start();
    h = await startChatd({
      vaultNodes: [far.vaultNode('far', 'us'), near.vaultNode('near', 'eu')],
      localRegion: 'eu',
      relayTimeoutMs: 300,
    });
  });
  afterEach(() => {
    near.behaviour = 'echo';
    far.behaviour = 'echo';
  });
  after(async () => {
    await h.close();
    await near.close();
    await far.close();
  });

  it('forwards the frame unchanged to the nearest region and returns the answer unchanged', async () => {
    const transport = new ChatdVaultTransport(await h.join('erin'));
    const frame = vaultFrame('erin');
    const before = { near: near.hits, far: far.hits };
    assert.deepEqual(echoed(await transport.exchange(frame)), frame);
    assert.equal(near.hits, before.near + 1);
    assert.equal(far.hits, before.far);
  });

  it("refuses a frame for another account's record, or for an unknown fleet, without relaying it", async () => {
    await h.join('frank');
    const transport = new ChatdVaultTransport(await h.join('grace'));
    const hits = near.hits + far.hits;
    for (const frame of [vaultFrame('frank'), vaultFrame('grace', undefined, randomBytes(16))]) {
      await assert.rejects(
        transport.exchange(frame),
        (e: unknown) => e instanceof ChatdRequestError && e.code === ErrorCode.forbidden,
      );
    }
    assert.equal(near.hits + far.hits, hits);
    // The connection is still usable for its own record.
    assert.ok(echoed(await transport.exchange(vaultFrame('grace'))).length > 0);
  });

  for (const failure of ['http-500', 'unavailable', 'hang'] as const) {
    it(`fails over to another region when the nearest node fails (${failure})`, async () => {
      const transport = new ChatdVaultTransport(await h.join(`heidi-${failure}`));
      near.behaviour = failure;
      const frame = vaultFrame(`heidi-${failure}`);
      const farHits = far.hits;
      assert.deepEqual(echoed(await transport.exchange(frame)), frame);
      assert.equal(far.hits, farHits + 1);
    });
  }

  it('answers unavailable when no node answers, and nothing else breaks', async () => {
    const client = await h.join('ivan');
    const transport = new ChatdVaultTransport(client);
    near.behaviour = 'http-500';
    far.behaviour = 'unavailable';
    await assert.rejects(transport.exchange(vaultFrame('ivan')), UnavailableError);
    near.behaviour = 'echo';
    assert.ok(echoed(await transport.exchange(vaultFrame('ivan'))).length > 0);
    assert.equal((await client.accountInfo()).devices.length, 1);
  });
});

describe('vault relay with every node down', () => {
  it('answers unavailable (exit code 7) when the node ports are closed', async () => {
    const node = await EchoVaultNode.start();
    const vaultNodes = [node.vaultNode('a', 'eu')];
    await node.close();
    const h = await startChatd({ vaultNodes, relayTimeoutMs: 300 });
    try {
      const transport = new ChatdVaultTransport(await h.join('judy'));
      await assert.rejects(transport.exchange(vaultFrame('judy')), (e: unknown) => {
        assert.ok(e instanceof UnavailableError);
        assert.equal(e.exitCode, 7);
        return true;
      });
    } finally {
      await h.close();
    }
  });
});

describe('vault rate limits', () => {
  it('limits vault frames per account, then per address', async () => {
    const node = await EchoVaultNode.start();
    const h = await startChatd({
      vaultNodes: [node.vaultNode('a', 'eu')],
      rateLimits: {
        vaultPerAccount: { capacity: 3, perSecond: 0.001 },
        vaultPerAddress: { capacity: 5, perSecond: 0.001 },
      },
    });
    try {
      const mallory = new ChatdVaultTransport(await h.join('mallory'));
      for (let i = 0; i < 3; i++) await mallory.exchange(vaultFrame('mallory'));
      await assert.rejects(mallory.exchange(vaultFrame('mallory')), (e: unknown) => {
        assert.ok(e instanceof UnavailableError);
        assert.match(e.message, /too many vault requests for this account/);
        return true;
      });
      // Another account from the same address has its own account bucket but shares the address one.
      const niaj = new ChatdVaultTransport(await h.join('niaj'));
      await niaj.exchange(vaultFrame('niaj'));
      await assert.rejects(niaj.exchange(vaultFrame('niaj')), /too many vault requests from this address/);
      assert.equal(node.hits, 4);
    } finally {
      await h.close();
      await node.close();
    }
  });
});

describe('relay order', () => {
  it('tries a recently failed node only after the healthy ones', async () => {
    const a = await EchoVaultNode.start();
    const b = await EchoVaultNode.start();
    const h = await startChatd({
      vaultNodes: [a.vaultNode('a', 'eu'), b.vaultNode('b', 'eu')],
      localRegion: 'eu',
    });
    try {
      const transport = new ChatdVaultTransport(await h.join('olivia', DeviceIdentity.generate('olivia')));
      a.behaviour = 'http-500';
      await transport.exchange(vaultFrame('olivia'));
      a.behaviour = 'echo';
      await transport.exchange(vaultFrame('olivia'));
      assert.deepEqual([a.hits, b.hits], [1, 2]);
    } finally {
      await h.close();
      await a.close();
      await b.close();
    }
  });
});
