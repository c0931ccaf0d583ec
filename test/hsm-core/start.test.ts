// Core start-up and lifetime (docs/PROTOCOL.md §8 "Core start", "What a core keeps between
// requests"): a core trusts only the fleet config sealed by its own fleet, finds its node index by
// its own endorsement key in it and refuses an OPAQUE setup the config does not name; each request
// zeroes the response secret it derived once it has answered; a stopped core answers nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CipherSuite } from '@hpke/core';
import * as opaque from '@serenity-kit/opaque';
import { sealRequest } from '../../src/client/vault/channel.ts';
import { createNodeHpkeSuite } from '../../src/hsm-platform/hpke-node.ts';
import { openNodeKeystore } from '../../src/hsm-platform/node-platform.ts';
import { NvramFile } from '../../src/hsm-platform/nvram.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { FLEET_CONFIG_AAD, FleetConfig, FleetMember } from '../../src/protocol/fleet.ts';
import { fromBase64Url } from '../../src/protocol/vault/bytes.ts';
import {
  type CoreResponse,
  deserializeCoreResponse,
  ProposeAction,
  serializeCoreRequest,
} from '../../src/protocol/vault/core-rpc.ts';
import { VaultOp } from '../../src/protocol/vault/frames.ts';
import { RegisterStartRequest, RegistrationKind, StatusRequest } from '../../src/protocol/vault/requests.ts';
import { Outcome, RefusalReason } from '../../src/protocol/vault/responses.ts';
import { CoreStartError, InProcessPeer, type Platform } from '../../src/vault-host/core-adapter.ts';
import { NodeConfig } from '../../src/vault-host/node-config.ts';
import { type Ceremony, ceremony } from '../vault-host/helpers/fleet.ts';

let dir: string;
let mine: Ceremony;
let other: Ceremony;
const closers: Array<() => void> = [];
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strongroom-core-start-'));
  mine = await ceremony(join(dir, 'mine'), 3);
  const otherDir = mkdtempSync(join(dir, 'other-'));
  other = await ceremony(otherDir, 3);
});
after(() => {
  for (const close of closers) close();
  rmSync(dir, { recursive: true, force: true });
});

/** Node `index`'s keystore (as its node config names it) over a fresh NVRAM file. */
function platform(index: number): Platform {
  const configPath = mine.nodeConfigPaths[index]!;
  const keystore = openNodeKeystore(NodeConfig.deserialize(readFileSync(configPath)), dirname(configPath), {
    warn: () => undefined,
  });
  const nvram = new NvramFile(join(dir, `start-${index}-${Math.random()}.nvram`));
  closers.push(
    () => keystore.close(),
    () => nvram.close(),
  );
  return { crypto: nodePrimitives, hpke: createNodeHpkeSuite(), keystore, nvram };
}

test('a core starts on its own sealed config and finds its index by its key', async () => {
  const peer = await InProcessPeer.start(platform(2), mine.sealedConfig);
  assert.equal(peer.nodeIndex, 2);
  peer.stop();
});

test("another fleet's sealed config, an unsealed one, or an altered one is refused", async () => {
  await assert.rejects(InProcessPeer.start(platform(0), other.sealedConfig), CoreStartError);
  await assert.rejects(InProcessPeer.start(platform(0), mine.config.serialize()), CoreStartError);
  const altered = Uint8Array.from(mine.sealedConfig);
  altered[20] = (altered[20] as number) ^ 1;
  await assert.rejects(InProcessPeer.start(platform(0), altered), CoreStartError);
});

test('a config sealed with the fleet key but without this node as a member is refused', async () => {
  const stranger = new FleetMember({
    index: 0,
    name: 'node-0',
    region: 'test',
    endorsementPublicKey: nodePrimitives.randomBytes(32),
  });
  const members = [stranger, ...mine.config.members.slice(1)];
  const config = new FleetConfig({ ...mine.config, members });
  // Sealed with the fleet's own record key, through a node's keystore.
  const sealed = await platform(1).keystore.seal(config.serialize(), FLEET_CONFIG_AAD);
  await assert.rejects(InProcessPeer.start(platform(0), sealed), /not a member/);
});

test('an OPAQUE server setup other than the one the sealed config names is refused', async () => {
  // The fleet's own config with another OPAQUE public key, sealed with the fleet's record key: the
  // node's setup (its keystore secret) no longer matches it.
  const config = new FleetConfig({ ...mine.config, opaqueServerPublicKey: nodePrimitives.randomBytes(32) });
  const sealed = await platform(1).keystore.seal(config.serialize(), FLEET_CONFIG_AAD);
  await assert.rejects(
    InProcessPeer.start(platform(0), sealed),
    (error: unknown) =>
      error instanceof CoreStartError && /OPAQUE server setup does not match/.test(error.message),
  );
});

/** `peer`'s response to a status frame (with `body`) for a fresh record id, no state shown; and the frame. */
async function askStatus(
  peer: InProcessPeer,
  type: 'answer' | 'propose' = 'answer',
  body = new StatusRequest().serialize(),
) {
  const request = await sealRequest(
    mine.config.publicInfo(),
    VaultOp.status,
    nodePrimitives.randomBytes(16),
    body,
  );
  const clientFrame = request.frame;
  const coreRequest =
    type === 'answer'
      ? { type, clientFrame, current: undefined }
      : { type, action: ProposeAction.client, clientFrame, current: undefined };
  const response: CoreResponse = deserializeCoreResponse(
    await peer.endorse(serializeCoreRequest(coreRequest)),
  );
  return { request, response };
}

test('a keystore may hand out its secrets as views into a larger buffer; a stopped core answers nothing', async () => {
  // KeyStore.secret promises a fresh copy, not one that owns its whole ArrayBuffer: the core must
  // import the HPKE key from the secret's own bytes, not from the buffer around them.
  const real = platform(0);
  const keystore = {
    ...real.keystore,
    seal: real.keystore.seal.bind(real.keystore),
    open: real.keystore.open.bind(real.keystore),
    secret: async (name: Parameters<typeof real.keystore.secret>[0]) => {
      const secret = await real.keystore.secret(name);
      const around = nodePrimitives.randomBytes(secret.length + 64);
      around.set(secret, 32);
      return around.subarray(32, 32 + secret.length);
    },
  };
  const peer = await InProcessPeer.start({ ...real, keystore }, mine.sealedConfig);
  const { request, response } = await askStatus(peer);
  assert.equal(response.type, 'client-response');
  assert.deepEqual(await request.open((response as { frame: Uint8Array }).frame), {
    outcome: Outcome.noRecord,
  });
  peer.stop();
  await assert.rejects(askStatus(peer), /this core is stopped/);
});

test('each request zeroes the response secret it derived once it has answered, refused or not', async () => {
  // The real HPKE suite, watched: every response secret a recipient context exports is recorded
  // (the core wraps the exported buffer without copying it, so zeroing it shows here).
  const real = platform(0);
  const exported: Uint8Array[] = [];
  const watched = new Proxy(real.hpke, {
    get(target, property) {
      if (property === 'createRecipientContext') {
        return async (params: Parameters<CipherSuite['createRecipientContext']>[0]) => {
          const context = await target.createRecipientContext(params);
          return {
            open: context.open.bind(context),
            seal: context.seal.bind(context),
            export: async (label: ArrayBuffer, length: number) => {
              const secret = await context.export(label, length);
              exported.push(new Uint8Array(secret));
              return secret;
            },
          };
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const peer = await InProcessPeer.start({ ...real, hpke: watched }, mine.sealedConfig);
  // An answer sealed with the secret (it opens on the client, so the secret was whole until then).
  const answered = await askStatus(peer, 'answer');
  assert.equal(answered.response.type, 'client-response');
  assert.deepEqual(await answered.request.open((answered.response as { frame: Uint8Array }).frame), {
    outcome: Outcome.noRecord,
  });
  // A propose that calls for no transition, and an answer refused (a malformed body: a sealed refusal).
  assert.deepEqual((await askStatus(peer, 'propose')).response, { type: 'no-transition' });
  const refused = await askStatus(peer, 'answer', Uint8Array.of(1));
  assert.equal(refused.response.type, 'client-response');
  assert.deepEqual(await refused.request.open((refused.response as { frame: Uint8Array }).frame), {
    outcome: Outcome.refused,
    reason: RefusalReason.malformed,
  });
  assert.equal(exported.length, 3, 'each request opened its own frame');
  for (const secret of exported) {
    assert.equal(secret.length, 32);
    assert.ok(
      secret.every((byte) => byte === 0),
      'the response secret is zeroed when its request returns',
    );
  }
  peer.stop();
});

test('a keystore that fails mid-request fails the request: the host is not told the client was malformed', async () => {
  // The token gone while the core seals a pending registration (a PKCS#11 token unplugged, say).
  // The core must not turn that into a refusal the host would pass on to the client as final.
  const real = platform(0);
  const keystore = {
    ...real.keystore,
    open: real.keystore.open.bind(real.keystore),
    secret: real.keystore.secret.bind(real.keystore),
    seal: async () => {
      throw new Error('the token is gone');
    },
  };
  const peer = await InProcessPeer.start({ ...real, keystore }, mine.sealedConfig);
  await opaque.ready;
  const { registrationRequest } = opaque.client.startRegistration({ password: 'a password' });
  const body = new RegisterStartRequest({
    kind: RegistrationKind.create,
    registrationRequest: fromBase64Url(registrationRequest),
  }).serialize();
  const request = await sealRequest(
    mine.config.publicInfo(),
    VaultOp.registerStart,
    nodePrimitives.randomBytes(16),
    body,
  );
  await assert.rejects(
    peer.endorse(serializeCoreRequest({ type: 'answer', clientFrame: request.frame, current: undefined })),
    /the token is gone/,
  );
  peer.stop();
});
