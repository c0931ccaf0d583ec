// `strongroom fleet init` as commands with expected exit codes and messages (docs/CEREMONY.md "Steps"): a software
// fleet, a PKCS#11 fleet on SoftHSM2 tokens made for the test, refusal to overwrite (exit 1), and
// usage errors (exit 2) that write nothing.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FleetPublicInfo } from '../../src/protocol/fleet.ts';
import { NodeConfig } from '../../src/vault-host/node-config.ts';
import { runCli } from '../helpers/cli.ts';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm.ts';

let hsm: SoftHsmFixture;
before(() => {
  hsm = createSoftHsm(['cli-0', 'cli-1']);
});
after(() => hsm?.cleanup());

describe('strongroom fleet init', () => {
  test('writes --listen, --peers (default http://LISTEN) and --store into every node config', async () => {
    const out = join(hsm.dir, 'deployed');
    const listen = '10.0.0.1:7000,10.0.0.2:7000';
    const made = await runCli([
      'fleet',
      'init',
      '--nodes',
      '2',
      '--out',
      out,
      '--listen',
      listen,
      '--store',
      'etcd://10.0.0.9:2379/sr',
    ]);
    assert.equal(made.code, 0, made.stderr);
    const node1 = NodeConfig.fromText(readFileSync(join(out, 'node-1', 'node.json'), 'utf8'));
    assert.equal(node1.listen, '10.0.0.2:7000');
    assert.deepEqual(node1.peers, [{ index: 0, url: 'http://10.0.0.1:7000' }]);
    assert.deepEqual(node1.recordStore, { url: 'etcd://10.0.0.9:2379/sr' });

    const wrong = join(hsm.dir, 'wrong-count');
    const refused = await runCli(['fleet', 'init', '--nodes', '3', '--out', wrong, '--listen', listen]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--listen must list one entry per node \(3\), got 2/);
    assert.equal(existsSync(wrong), false);
  });

  test('makes a software fleet, then refuses to overwrite it', async () => {
    const out = join(hsm.dir, 'soft');
    const made = await runCli(['fleet', 'init', '--nodes', '3', '--regions', 'eu,us,ap', '--out', out]);
    assert.equal(made.code, 0, made.stderr);
    const pub = FleetPublicInfo.fromText(readFileSync(join(out, 'fleet.pub'), 'utf8'));
    assert.match(made.stdout, new RegExp(`^fleet ${Buffer.from(pub.fleetId).toString('hex')} created in `));
    assert.match(made.stdout, /3 nodes, quorum 2, largest guess limit 10/);
    assert.match(made.stdout, /node-2\/node\.json: node-2 \(ap\)/);
    assert.match(made.stderr, /WARNING: .*software keystore files .*not an HSM/);
    assert.deepEqual(
      pub.members.map((m) => m.region),
      ['eu', 'us', 'ap'],
    );

    const again = await runCli(['fleet', 'init', '--nodes', '3', '--out', out]);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /^strongroom: error: .* already holds a fleet \(fleet\.pub\): refusing to overwrite it\n/,
    );
    assert.match(again.stderr, /strongroom: hint: choose another --out directory/);
    assert.deepEqual(
      FleetPublicInfo.fromText(readFileSync(join(out, 'fleet.pub'), 'utf8')).fleetId,
      pub.fleetId,
    );
  });

  test('makes a PKCS#11 fleet with the PIN from the named variable', async () => {
    const out = join(hsm.dir, 'p11');
    const result = await runCli(
      [
        'fleet',
        'init',
        '--nodes',
        '2',
        '--quorum',
        '2',
        '--max-guesses',
        '5',
        '--keystore',
        'pkcs11',
        '--pkcs11-module',
        hsm.modulePath,
        '--pkcs11-pin-env',
        'MY_PIN',
        '--pkcs11-tokens',
        'cli-0,cli-1',
        '--out',
        out,
      ],
      { env: { ...hsm.env, MY_PIN: hsm.userPin } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /hosts must set MY_PIN/);
    const config = NodeConfig.fromText(readFileSync(join(out, 'node-1', 'node.json'), 'utf8'));
    assert.equal(config.keystore.kind, 'pkcs11');
    assert.deepEqual(readdirSync(join(out, 'node-1')).sort(), ['node.json', 'pkcs11-secrets.json']);
    const pub = FleetPublicInfo.fromText(readFileSync(join(out, 'fleet.pub'), 'utf8'));
    assert.deepEqual([pub.quorum, pub.maxGuessLimit], [2, 5]);
  });

  test('usage errors exit 2 and write nothing', async () => {
    const out = join(hsm.dir, 'usage');
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [['--nodes', 'three'], /--nodes must be a whole number \(got "three"\)/],
      [['--nodes', '3', '--quorum', '1'], /--quorum must be from 2 \(a majority\) to 3/],
      [['--nodes', '3', '--keystore', 'tpm'], /--keystore must be software or pkcs11/],
      [
        ['--nodes', '3', '--keystore', 'pkcs11'],
        /token PIN is not set: set STRONGROOM_PKCS11_PIN/,
        { STRONGROOM_PKCS11_PIN: '' },
      ],
    ];
    for (const [args, message, env] of cases) {
      const result = await runCli(['fleet', 'init', ...args, '--out', out], { env });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const missing = await runCli(['fleet', 'init', '--nodes', '3']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--out <dir>'/);
    assert.equal(existsSync(out), false);
  });
});
