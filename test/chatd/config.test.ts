// ChatD's configuration file (src/chatd/config.ts; docs/CHATD.md "Running ChatD alone"): the codec,
// every refusal, and how nodes get their regions from fleet.pub.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHATD_CONFIG_FORMAT, ChatdConfig } from '../../src/chatd/config.ts';
import { testFleet } from './helpers.ts';

const VALID = {
  format: CHATD_CONFIG_FORMAT,
  listen: '127.0.0.1:8470',
  region: 'us',
  dataDir: 'data',
  fleetPub: '/etc/strongroom/fleet.pub',
  nodes: [
    { name: 'node-0', url: 'http://10.0.0.1:7000' },
    { name: 'node-1', url: 'https://node-1.example:7000/' },
  ],
};

const parse = (fields: Record<string, unknown>) => ChatdConfig.fromText(JSON.stringify(fields));

describe('ChatD config', () => {
  it('round-trips through its text, with defaults for the optional fields', () => {
    const config = parse({ ...VALID, relayTimeoutMs: 2500 });
    assert.equal(config.region, 'us');
    assert.equal(config.relayTimeoutMs, 2500);
    assert.equal(config.quotaBytes, undefined);
    assert.equal(config.metrics, false);
    assert.deepEqual(config.nodes, [
      { name: 'node-0', url: 'http://10.0.0.1:7000' },
      { name: 'node-1', url: 'https://node-1.example:7000' },
    ]);
    assert.deepEqual(ChatdConfig.fromText(config.toText()), config);
  });

  it('keeps the shared account and blob stores of a multi-region deployment', () => {
    const config = parse({
      ...VALID,
      accountStore: 'etcd://10.0.0.9:2379,10.0.1.9:2379/chatd',
      blobStore: 's3://blobs/chatd',
    });
    assert.equal(config.accountStore, 'etcd://10.0.0.9:2379,10.0.1.9:2379/chatd');
    assert.equal(config.blobStore, 's3://blobs/chatd');
    assert.deepEqual(ChatdConfig.fromText(config.toText()), config);
    assert.equal(parse(VALID).accountStore, undefined, 'absent: the data dir holds both');
  });

  it('gives each node the region fleet.pub gives its member, in config order', () => {
    const nodes = parse(VALID).vaultNodes(testFleet(['eu', 'us']));
    assert.deepEqual(
      nodes.map((node) => [node.name, node.region]),
      [
        ['node-0', 'eu'],
        ['node-1', 'us'],
      ],
    );
  });

  it('refuses a node that is not a member of the fleet', () => {
    const config = parse({ ...VALID, nodes: [{ name: 'node-7', url: 'http://10.0.0.1:7000' }] });
    assert.throws(
      () => config.vaultNodes(testFleet(['eu', 'us'])),
      /node node-7 is not a member.*node-0, node-1/,
    );
  });

  const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
    ['another format', { ...VALID, format: 'strongroom-node/v1' }, /format is not strongroom-chatd\/v1/],
    ['a misspelt field', { ...VALID, relayTimeout: 5 }, /unknown field "relayTimeout"/],
    ['a bad region', { ...VALID, region: 'EU West' }, /region must be/],
    ['no listen address', { ...VALID, listen: '' }, /listen must be/],
    ['no data dir', { ...VALID, dataDir: 3 }, /dataDir must be a path/],
    ['no nodes', { ...VALID, nodes: [] }, /nodes must list/],
    ['a node without a name', { ...VALID, nodes: [{ url: 'http://a:1' }] }, /each node needs the name/],
    ['a node twice', { ...VALID, nodes: [VALID.nodes[0], VALID.nodes[0]] }, /node-0 is listed twice/],
    [
      'a node URL with a path',
      { ...VALID, nodes: [{ name: 'node-0', url: 'http://a:1/v1/vault' }] },
      /base URL/,
    ],
    ['a node URL that is not http', { ...VALID, nodes: [{ name: 'node-0', url: 'ftp://a:1' }] }, /http/],
    ['a node URL that is not a URL', { ...VALID, nodes: [{ name: 'node-0', url: 'a:b:c' }] }, /http/],
    ['a negative timeout', { ...VALID, relayTimeoutMs: -1 }, /relayTimeoutMs must be a positive/],
    ['a fractional quota', { ...VALID, quotaBytes: 1.5 }, /quotaBytes must be a positive/],
    ['metrics as text', { ...VALID, metrics: 'yes' }, /metrics must be true or false/],
    ['a SQLite account store', { ...VALID, accountStore: 'sqlite:/tmp/a' }, /accountStore must be etcd:/],
    ['a malformed etcd URL', { ...VALID, accountStore: 'etcd://nohost' }, /malformed etcd store URL/],
    ['a directory blob store', { ...VALID, blobStore: '/srv/blobs' }, /blobStore must be s3:/],
  ];
  for (const [what, fields, message] of refusals) {
    it(`refuses ${what}`, () => assert.throws(() => parse(fields), message));
  }

  it('refuses text that is not a JSON object', () => {
    assert.throws(() => ChatdConfig.fromText('{'), /not JSON/);
    assert.throws(() => ChatdConfig.fromText('[]'), /not a JSON object/);
  });

  it('resolves relative paths against the config file directory', () => {
    assert.equal(ChatdConfig.resolve('/srv/chatd/chatd.json', 'data'), '/srv/chatd/data');
    assert.equal(ChatdConfig.resolve('/srv/chatd/chatd.json', '/var/lib/x'), '/var/lib/x');
  });
});
