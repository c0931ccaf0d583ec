// A relay between the client and the vault (docs/PROTOCOL.md §5 "Frames", §12 "Threat model"): altering any
// byte, replaying an old response, or swapping the fleet key is detected by the client, which
// learns nothing and records nothing from it; the vault's state does not move.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HttpVaultTransport } from '../../../src/client/vault/http-transport.ts';
import type { VaultTransport } from '../../../src/client/vault/transport.ts';
import { TamperingError } from '../../../src/errors.ts';
import { nodePrimitives } from '../../../src/hsm-platform/primitives.ts';
import { FleetPublicInfo } from '../../../src/protocol/fleet.ts';
import { CertifiedState } from '../../../src/protocol/vault/record.ts';
import { startTestFleet, type TestFleet } from '../../vault-host/helpers/fleet.ts';

let t: TestFleet;
let http: HttpVaultTransport;
let recordId: Uint8Array;
const key = nodePrimitives.randomBytes(32);
before(async () => {
  t = await startTestFleet();
  await t.serve();
  http = new HttpVaultTransport(t.servers[0]!.url);
  recordId = nodePrimitives.randomBytes(16);
  await t.client().enable(recordId, 'right', key, 5);
});
after(() => t.close());

const committed = async () =>
  CertifiedState.deserialize((await t.store.get(recordId))!.committed!).serialize();

/** A relay that flips one bit of the request at `at` (or of the response when `response`). */
function flipping(at: number, response: boolean): VaultTransport {
  return {
    async exchange(frame) {
      if (!response) {
        const altered = Uint8Array.from(frame);
        altered[at % altered.length]! ^= 0x01;
        return http.exchange(altered);
      }
      const answer = Uint8Array.from(await http.exchange(frame));
      answer[at % answer.length]! ^= 0x01;
      return answer;
    },
  };
}

test('every altered request byte of a status request is detected', async () => {
  const before = await committed();
  const frameLength = (await captureFrame()).length;
  for (let at = 0; at < frameLength; at++) {
    await assert.rejects(
      t.client({ transport: flipping(at, false) }).status(recordId),
      TamperingError,
      `byte ${at}`,
    );
  }
  assert.deepEqual(await committed(), before);
});

test('every altered response byte of a status answer is detected', async () => {
  const answerLength = (await http.exchange(await captureFrame())).length;
  for (let at = 0; at < answerLength; at++) {
    await assert.rejects(
      t.client({ transport: flipping(at, true) }).status(recordId),
      TamperingError,
      `byte ${at}`,
    );
  }
});

test('altered bytes in a recovery are detected and spend at most the guess the request paid', async () => {
  const before = CertifiedState.deserialize((await t.store.get(recordId))!.committed!).state;
  // Flip a byte of the login-finish request: the core cannot open it, no refund, the client is told.
  let calls = 0;
  const relay: VaultTransport = {
    async exchange(frame) {
      calls++;
      if (frame[5] !== 5) return http.exchange(frame);
      const altered = Uint8Array.from(frame);
      altered[altered.length - 3]! ^= 0x80;
      return http.exchange(altered);
    },
  };
  await assert.rejects(t.client({ transport: relay }).recover(recordId, 'right'), TamperingError);
  assert.equal(calls, 3);
  const after = CertifiedState.deserialize((await t.store.get(recordId))!.committed!).state;
  assert.equal(after.guessesLeft, before.guessesLeft - 1, 'the spend stays; nothing else happened');
  assert.ok(after.ke1Hash);
});

test('a response replayed to a later request is detected', async () => {
  const first = await http.exchange(await captureFrame());
  const replaying: VaultTransport = { exchange: async () => first };
  await assert.rejects(t.client({ transport: replaying }).status(recordId), TamperingError);
});

test('a swapped fleet key is detected (HPKE key: the vault cannot open; OPAQUE key: the client aborts)', async () => {
  const info = t.publicInfo;
  const fields = {
    fleetId: info.fleetId,
    members: info.members,
    quorum: info.quorum,
    maxGuessLimit: info.maxGuessLimit,
  };
  const otherHpke = new FleetPublicInfo({
    ...fields,
    hpkePublicKey: nodePrimitives.randomBytes(32),
    opaqueServerPublicKey: info.opaqueServerPublicKey,
  });
  await assert.rejects(t.client({ fleet: otherHpke }).status(recordId), TamperingError);
  const otherOpaque = new FleetPublicInfo({
    ...fields,
    hpkePublicKey: info.hpkePublicKey,
    opaqueServerPublicKey: nodePrimitives.randomBytes(32),
  });
  const before = await committed();
  await assert.rejects(
    t.client({ fleet: otherOpaque }).enable(nodePrimitives.randomBytes(16), 'pw', key, 3),
    TamperingError,
  );
  assert.deepEqual(await committed(), before);
});

/** The bytes of a real status request frame (the relay's view). */
async function captureFrame(): Promise<Uint8Array> {
  let captured: Uint8Array | undefined;
  const capture: VaultTransport = {
    async exchange(frame) {
      captured = frame;
      return http.exchange(frame);
    },
  };
  await t.client({ transport: capture }).status(recordId);
  return captured!;
}
