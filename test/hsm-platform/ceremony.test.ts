// Tests of src/hsm-platform/ceremony.ts (createFleet) and node-platform.ts (loadNodePlatform): a fleet
// made with software keystores and with SoftHSM2 tokens starts platforms whose secrets match the
// sealed config and fleet.pub; bad options and an existing fleet are refused with nothing written;
// a ceremony that fails half-way leaves nothing behind.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { StrongroomError, UsageError } from '../../src/errors.ts';
import { createFleet } from '../../src/hsm-platform/ceremony.ts';
import { loadNodePlatform, type NodePlatform } from '../../src/hsm-platform/node-platform.ts';
import { ed25519PublicKey } from '../../src/hsm-platform/primitives.ts';
import { FLEET_CONFIG_AAD, FleetConfig, FleetPublicInfo } from '../../src/protocol/fleet.ts';
import { NodeConfig } from '../../src/vault-host/node-config.ts';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm.ts';

let hsm: SoftHsmFixture;
let root: string;
const quiet = { warn: () => {} };
before(() => {
  hsm = createSoftHsm(['cer-0', 'cer-1', 'cer-shared']);
  root = mkdtempSync(join(tmpdir(), 'strongroom-ceremony-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
  hsm?.cleanup();
});
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Checks one node's platform against the fleet it belongs to; returns its platform, still open. */
async function checkNode(
  path: string,
  pub: FleetPublicInfo,
  env: NodeJS.ProcessEnv = {},
): Promise<NodePlatform> {
  const platform = loadNodePlatform(path, { ...quiet, env });
  const config = FleetConfig.deserialize(
    await platform.keystore.open(platform.sealedFleetConfig, FLEET_CONFIG_AAD),
  );
  assert.deepEqual(config.publicInfo().toText(), pub.toText(), 'sealed config matches fleet.pub');
  const index = platform.config.index;
  const seed = await platform.keystore.secret('endorsement-private-key');
  assert.equal(hex(ed25519PublicKey(seed)), hex(pub.members[index]!.endorsementPublicKey));
  const hpke = await platform.keystore.secret('hpke-private-key');
  const hpkeKey = (await platform.hpke.kem.deserializePrivateKey(hpke)) as unknown as {
    publicBytes: Uint8Array;
  };
  assert.equal(hex(hpkeKey.publicBytes), hex(pub.hpkePublicKey));
  await opaque.ready;
  const setup = new TextDecoder().decode(await platform.keystore.secret('opaque-server-setup'));
  assert.equal(
    hex(Buffer.from(opaque.server.getPublicKey(setup), 'base64url')),
    hex(pub.opaqueServerPublicKey),
  );
  await platform.nvram.put(Uint8Array.of(1), Uint8Array.of(index));
  return platform;
}

describe('createFleet with software keystores', () => {
  test('writes fleet.pub and one node directory per node, regions round-robin, majority quorum', async () => {
    const dir = join(root, 'soft');
    const fleet = await createFleet({ dir, nodes: 3, regions: ['eu', 'us'], maxGuesses: 7 });
    assert.deepEqual(readdirSync(dir).sort(), ['fleet.pub', 'node-0', 'node-1', 'node-2']);
    const pub = FleetPublicInfo.fromText(readFileSync(join(dir, 'fleet.pub'), 'utf8'));
    assert.equal(pub.toText(), fleet.publicInfo.toText());
    assert.deepEqual(
      pub.members.map((m) => m.region),
      ['eu', 'us', 'eu'],
    );
    assert.deepEqual([pub.quorum, pub.maxGuessLimit], [2, 7]);
    assert.equal(statSync(join(dir, 'node-1', 'keystore.json')).mode & 0o777, 0o600);
    const platforms = await Promise.all(fleet.nodeConfigPaths.map((path) => checkNode(path, pub)));
    // The fleet secrets are shared: what node 0 seals, node 2 opens.
    const sealed = await platforms[0]!.keystore.seal(Uint8Array.of(9), Uint8Array.of(1));
    assert.deepEqual(await platforms[2]!.keystore.open(sealed, Uint8Array.of(1)), Uint8Array.of(9));
    for (const platform of platforms) platform.close();
    const again = loadNodePlatform(fleet.nodeConfigPaths[1]!, quiet);
    assert.deepEqual(again.nvram.get(Uint8Array.of(1)), Uint8Array.of(1), 'NVRAM kept across restarts');
    again.close();
  });

  test('a one-node fleet has a quorum of one; a larger quorum may be chosen', async () => {
    const one = await createFleet({ dir: join(root, 'one'), nodes: 1 });
    assert.deepEqual([one.config.quorum, one.config.members[0]!.region], [1, 'local']);
    const all = await createFleet({ dir: join(root, 'all'), nodes: 3, quorum: 3 });
    assert.equal(all.config.quorum, 3);
  });

  test('refuses bad options before writing anything', async () => {
    const dir = join(root, 'bad');
    const cases: Array<[Parameters<typeof createFleet>[0], RegExp]> = [
      [{ dir, nodes: 0 }, /--nodes must be a whole number from 1 to 255/],
      [{ dir, nodes: 3, quorum: 1 }, /--quorum must be from 2 \(a majority\) to 3/],
      [{ dir, nodes: 3, quorum: 4 }, /--quorum/],
      [{ dir, nodes: 3, maxGuesses: 0 }, /--max-guesses/],
      [{ dir, nodes: 3, regions: ['EU'] }, /region "EU"/],
      [{ dir, nodes: 3, regions: [] }, /at least one region/],
      [
        {
          dir,
          nodes: 3,
          keystore: { kind: 'pkcs11', module: hsm.modulePath, tokenLabels: ['a', 'b'], pin: '1' },
        },
        /one PKCS#11 token label per node/,
      ],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(
        createFleet(options),
        (error) => error instanceof UsageError && message.test(error.message),
      );
    }
    assert.equal(existsSync(dir), false);
  });

  test('refuses to overwrite an existing fleet, leaving it untouched', async () => {
    const dir = join(root, 'twice');
    await createFleet({ dir, nodes: 2 });
    const before = readFileSync(join(dir, 'fleet.pub'), 'utf8');
    const nodeBefore = readFileSync(join(dir, 'node-0', 'node.json'), 'utf8');
    await assert.rejects(
      createFleet({ dir, nodes: 2 }),
      (error) =>
        error instanceof StrongroomError && /already holds a fleet \(fleet\.pub\)/.test(error.message),
    );
    assert.equal(readFileSync(join(dir, 'fleet.pub'), 'utf8'), before);
    assert.equal(readFileSync(join(dir, 'node-0', 'node.json'), 'utf8'), nodeBefore);
    // A node directory alone also marks a fleet (say, fleet.pub was moved away).
    const partial = join(root, 'partial');
    mkdirSync(join(partial, 'node-4'), { recursive: true });
    await assert.rejects(createFleet({ dir: partial, nodes: 1 }), /already holds a fleet \(node-4\)/);
  });

  test("a node config naming another node's keystore is refused at load", async () => {
    const dir = join(root, 'swap');
    const fleet = await createFleet({ dir, nodes: 2 });
    const config = NodeConfig.fromText(readFileSync(fleet.nodeConfigPaths[0]!, 'utf8'));
    const swapped = new NodeConfig({
      ...config,
      keystore: { kind: 'software', path: '../node-1/keystore.json' },
    });
    const path = join(dir, 'node-0', 'swapped.json');
    writeFileSync(path, swapped.toText());
    assert.throws(() => loadNodePlatform(path, quiet), /belongs to node 1/);
  });
});

describe('createFleet with PKCS#11 tokens (SoftHSM2)', () => {
  test('one token per node: platforms open with the PIN from the named variable, no secret in clear on disk', async () => {
    const dir = join(root, 'pkcs11');
    const fleet = await createFleet({
      dir,
      nodes: 2,
      keystore: {
        kind: 'pkcs11',
        module: hsm.modulePath,
        tokenLabels: ['cer-0', 'cer-1'],
        pin: hsm.userPin,
        pinEnv: 'TEST_PIN',
      },
    });
    assert.deepEqual(readdirSync(join(dir, 'node-0')).sort(), ['node.json', 'pkcs11-secrets.json']);
    const config = NodeConfig.fromText(readFileSync(fleet.nodeConfigPaths[1]!, 'utf8'));
    assert.deepEqual(config.keystore, {
      kind: 'pkcs11',
      module: hsm.modulePath,
      tokenLabel: 'cer-1',
      pinEnv: 'TEST_PIN',
      secretsPath: 'pkcs11-secrets.json',
    });
    assert.equal(readFileSync(fleet.nodeConfigPaths[1]!, 'utf8').includes(hsm.userPin), false);
    const env = { TEST_PIN: hsm.userPin };
    for (const path of fleet.nodeConfigPaths) {
      const platform = await checkNode(path, fleet.publicInfo, env);
      const files = readdirSync(join(path, '..')).map((name) => readFileSync(join(path, '..', name)));
      for (const name of ['endorsement-private-key', 'hpke-private-key'] as const) {
        const secret = Buffer.from(await platform.keystore.secret(name));
        assert.equal(
          files.some((file) => file.includes(secret) || file.includes(secret.toString('hex'))),
          false,
        );
      }
      platform.close();
    }
    assert.throws(
      () => loadNodePlatform(fleet.nodeConfigPaths[0]!, { env: {} }),
      (error) =>
        error instanceof StrongroomError && /PIN of PKCS#11 token "cer-0" is not set/.test(error.message),
    );
  });

  test('one shared token for every node', async () => {
    const fleet = await createFleet({
      dir: join(root, 'shared'),
      nodes: 3,
      keystore: { kind: 'pkcs11', module: hsm.modulePath, tokenLabels: ['cer-shared'], pin: hsm.userPin },
    });
    for (const path of fleet.nodeConfigPaths) {
      (await checkNode(path, fleet.publicInfo, { STRONGROOM_PKCS11_PIN: hsm.userPin })).close();
    }
  });

  test('a ceremony that fails on a later node leaves no node directory and no fleet.pub', async () => {
    const dir = join(root, 'half');
    await assert.rejects(
      createFleet({
        dir,
        nodes: 2,
        keystore: {
          kind: 'pkcs11',
          module: hsm.modulePath,
          tokenLabels: ['cer-0', 'missing'],
          pin: hsm.userPin,
        },
      }),
      /0 tokens labelled "missing"/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
