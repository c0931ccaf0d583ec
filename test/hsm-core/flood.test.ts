// A core flooded with other frames while one answer is still being computed (docs/PROTOCOL.md §8
// "What a core keeps between requests"): the answer must be sealed under its own request's response
// secret, whatever the host sends meanwhile. Real cores, real HPKE frames, the node's real software
// keystore; the only change is that the keystore's seal waits for the test to let it go, as a busy
// token would.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KeyStore } from '../../src/hsm-core/platform.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import { StatusRequest } from '../../src/protocol/vault/requests.ts';
import { type LoginStartResult, Outcome } from '../../src/protocol/vault/responses.ts';
import { InProcessPeer } from '../../src/vault-host/core-adapter.ts';
import { eventually } from '../helpers/eventually.ts';
import { startTestFleet, type TestFleet } from '../vault-host/helpers/fleet.ts';
import { finishLogin, MaliciousHost, okResult } from './helpers/host.ts';

let t: TestFleet;
let host: MaliciousHost;
before(async () => {
  t = await startTestFleet();
  host = new MaliciousHost(t);
});
after(() => t.close());

/** A keystore whose seal, whose seal waits while `held` is set (and says that it is waiting). */
function slowKeystore(keystore: KeyStore) {
  const gate = { held: false, waiting: 0, release: (): void => undefined };
  let released = Promise.resolve();
  const slow: KeyStore = {
    description: keystore.description,
    async seal(plaintext, aad) {
      if (gate.held) {
        gate.waiting++;
        await released;
      }
      return keystore.seal(plaintext, aad);
    },
    open: (sealed, aad) => keystore.open(sealed, aad),
    secret: (name) => keystore.secret(name),
  };
  const hold = () => {
    gate.held = true;
    released = new Promise<void>((resolve) => {
      gate.release = () => {
        gate.held = false;
        resolve();
      };
    });
  };
  return { slow, gate, hold };
}

test('an answer still being computed while 600 other frames are opened is sealed to its own request', async () => {
  const recordId = nodePrimitives.randomBytes(16);
  const client = t.client({ transport: { exchange: (frame) => t.fleet.coordinator(0).handle(frame) } });
  await client.enable(recordId, 'right', nodePrimitives.randomBytes(32), 5);
  const current = (await host.committed(recordId))!;
  const login = await host.loginStart(recordId, current.state.incarnation, 'right');
  const spent = await host.certify(await host.propose(login.request.frame, current));

  const platform = t.platforms[0]!;
  const { slow, gate, hold } = slowKeystore(platform.keystore);
  const core = await InProcessPeer.start({ ...platform, keystore: slow }, t.ceremony.sealedConfig);
  try {
    hold();
    // The KE2 answer opens its frame, then waits in the keystore (sealing the login state).
    const answering = host.answer(login.request.frame, spent, core);
    await eventually(
      async () => gate.waiting,
      (waiting) => waiting === 1,
      'the answer waits in the keystore',
    );
    // Meanwhile the host floods the same core with other frames (status requests need no seal).
    const other = nodePrimitives.randomBytes(16);
    const flood = await Promise.all(
      Array.from({ length: 600 }, () => host.seal(VaultOp.status, other, new StatusRequest().serialize())),
    );
    const floodAnswers = await Promise.all(
      flood.map((request) => host.answer(request.frame, undefined, core)),
    );
    assert.equal((await flood[0]!.open(floodAnswers[0]!)).outcome, Outcome.noRecord);
    gate.release();
    // The honest client opens its answer (not a tampering error) and the right password verifies.
    const started = okResult(await login.request.open(await answering)) as LoginStartResult;
    assert.ok(finishLogin(t, recordId, login.clientLoginState, started.ke2, 'right'));
  } finally {
    core.stop();
  }
});
