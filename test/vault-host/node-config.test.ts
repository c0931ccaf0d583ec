// Tests of src/vault-host/node-config.ts: round-trip of both keystore kinds and the deployment
// fields, path resolution, and refusal of malformed configs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { NodeConfig, type NodeConfigFields } from '../../src/vault-host/node-config.ts';

const base = (): NodeConfigFields => ({
  fleetId: new Uint8Array(randomBytes(16)),
  index: 2,
  name: 'node-2',
  region: 'ap',
  keystore: { kind: 'software', path: 'keystore.json' },
  sealedFleetConfig: new Uint8Array(randomBytes(200)),
  nvramPath: 'nvram.db',
});

describe('NodeConfig', () => {
  test('round-trips a software node and re-encodes to the same text', () => {
    const config = new NodeConfig(base());
    const back = NodeConfig.deserialize(config.serialize());
    assert.equal(back.toText(), config.toText());
    assert.deepEqual([back.index, back.name, back.region, back.nvramPath], [2, 'node-2', 'ap', 'nvram.db']);
    assert.deepEqual(back.sealedFleetConfig, config.sealedFleetConfig);
    assert.deepEqual([back.listen, back.peers, back.recordStore], [null, [], null]);
  });

  test('round-trips a PKCS#11 node with the deployment fields filled in', () => {
    const config = new NodeConfig({
      ...base(),
      keystore: {
        kind: 'pkcs11',
        module: '/lib/p11.so',
        tokenLabel: 'tok',
        pinEnv: 'PIN_2',
        secretsPath: 's.json',
      },
    }).with({
      listen: '127.0.0.1:7402',
      peers: [{ index: 0, url: 'http://10.0.0.1:7400' }],
      recordStore: { kind: 'etcd', endpoints: ['http://10.0.0.9:2379'] },
    });
    const back = NodeConfig.fromText(config.toText());
    assert.equal(back.toText(), config.toText());
    assert.equal(back.listen, '127.0.0.1:7402');
    assert.deepEqual(back.peers, [{ index: 0, url: 'http://10.0.0.1:7400' }]);
    assert.deepEqual(back.recordStore, { kind: 'etcd', endpoints: ['http://10.0.0.9:2379'] });
    assert.deepEqual(back.keystore, config.keystore);
  });

  test('resolves relative paths against the config directory, keeps absolute ones', () => {
    assert.equal(NodeConfig.resolve('/fleet/node-0', 'nvram.db'), '/fleet/node-0/nvram.db');
    assert.equal(NodeConfig.resolve('/fleet/node-0', '/var/lib/n.db'), '/var/lib/n.db');
  });

  test('refuses bad fields', () => {
    const cases: Array<[Partial<NodeConfigFields>, RegExp]> = [
      [{ fleetId: new Uint8Array(15) }, /fleet id must be 16 bytes/],
      [{ index: -1 }, /bad node index/],
      [{ name: 'Node 2' }, /bad node name or region/],
      [{ sealedFleetConfig: new Uint8Array(10) }, /too short/],
      [{ nvramPath: '' }, /empty NVRAM path/],
      [{ keystore: { kind: 'software', path: '' } }, /empty software keystore path/],
      [
        { keystore: { kind: 'pkcs11', module: 'm', tokenLabel: 't', pinEnv: 'BAD-NAME', secretsPath: 's' } },
        /bad PIN environment variable name/,
      ],
      [{ keystore: { kind: 'vault' } as never }, /unknown keystore kind "vault"/],
    ];
    for (const [change, message] of cases)
      assert.throws(() => new NodeConfig({ ...base(), ...change }), message);
  });

  test('refuses malformed text', () => {
    const doc = JSON.parse(new NodeConfig(base()).toText());
    const parse = (change: (d: typeof doc) => void) => {
      const copy = structuredClone(doc);
      change(copy);
      return () => NodeConfig.fromText(JSON.stringify(copy));
    };
    assert.throws(() => NodeConfig.fromText('nope'), /not JSON/);
    assert.throws(
      parse((d) => {
        d.format = 'strongroom-node/v2';
      }),
      /format is not strongroom-node\/v1/,
    );
    assert.throws(
      parse((d) => {
        d.fleetId = 'XYZ';
      }),
      /fleetId must be lowercase hex/,
    );
    assert.throws(
      parse((d) => {
        d.sealedFleetConfig = d.sealedFleetConfig.toUpperCase();
      }),
      /lowercase hex/,
    );
    assert.throws(
      parse((d) => {
        d.keystore = { kind: 'pkcs11', module: 'm' };
      }),
      /keystore.tokenLabel must be a string/,
    );
    assert.throws(
      parse((d) => {
        delete d.nvramPath;
      }),
      /nvramPath must be a string/,
    );
    assert.throws(
      parse((d) => {
        d.peers = 'x';
      }),
      /peers must be a list/,
    );
    assert.throws(() => NodeConfig.deserialize(Uint8Array.of(0xff)), /not UTF-8/);
  });
});
