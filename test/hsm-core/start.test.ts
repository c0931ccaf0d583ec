// Core start-up (docs/PROTOCOL.md §8 "Core start"): a core trusts only the fleet config sealed by its own
// fleet, and finds its node index by its own endorsement key in it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { createNodeHpkeSuite } from '../../src/hsm-platform/hpke-node.ts';
import { openNodeKeystore } from '../../src/hsm-platform/node-platform.ts';
import { NvramFile } from '../../src/hsm-platform/nvram.ts';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import { FLEET_CONFIG_AAD, FleetConfig, FleetMember } from '../../src/protocol/fleet.ts';
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
