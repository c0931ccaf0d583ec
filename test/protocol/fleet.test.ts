// Tests of src/protocol/fleet.ts: FleetConfig and fleet.pub round-trip byte for byte, and every
// constructor and decoder rejects bad sizes, bad labels, bad quorums and malformed input.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  FLEET_CONFIG_AAD,
  FLEET_PUB_FORMAT,
  FleetConfig,
  FleetMember,
  FleetPublicInfo,
  majorityQuorum,
} from '../../src/protocol/fleet.ts';

const regions = ['eu', 'us', 'ap'];

function members(n: number): FleetMember[] {
  return Array.from(
    { length: n },
    (_, index) =>
      new FleetMember({
        index,
        name: `node-${index}`,
        region: regions[index % regions.length]!,
        endorsementPublicKey: randomBytes(32),
      }),
  );
}

function fields(n = 5) {
  return {
    fleetId: randomBytes(16),
    members: members(n),
    quorum: majorityQuorum(n),
    maxGuessLimit: 10,
    hpkePublicKey: randomBytes(32),
    opaqueServerPublicKey: randomBytes(32),
  };
}

function assertSameFleet(a: FleetConfig | FleetPublicInfo, b: FleetConfig | FleetPublicInfo): void {
  assert.deepEqual(Buffer.from(a.fleetId), Buffer.from(b.fleetId));
  assert.deepEqual(Buffer.from(a.hpkePublicKey), Buffer.from(b.hpkePublicKey));
  assert.deepEqual(Buffer.from(a.opaqueServerPublicKey), Buffer.from(b.opaqueServerPublicKey));
  assert.equal(a.quorum, b.quorum);
  assert.equal(a.maxGuessLimit, b.maxGuessLimit);
  assert.equal(a.members.length, b.members.length);
  a.members.forEach((m, i) => {
    const o = b.members[i]!;
    assert.deepEqual(
      [m.index, m.name, m.region, Buffer.from(m.endorsementPublicKey).toString('hex')],
      [o.index, o.name, o.region, Buffer.from(o.endorsementPublicKey).toString('hex')],
    );
  });
}

describe('FleetConfig', () => {
  test('round-trips and re-encodes to the same bytes', () => {
    for (const n of [1, 2, 3, 5, 7]) {
      const config = new FleetConfig(fields(n));
      const bytes = config.serialize();
      const back = FleetConfig.deserialize(bytes);
      assertSameFleet(config, back);
      assert.deepEqual(back.serialize(), bytes);
    }
  });

  test('layout starts with magic, version and fleet id', () => {
    const f = fields(3);
    const bytes = new FleetConfig(f).serialize();
    assert.equal(Buffer.from(bytes.subarray(0, 4)).toString('latin1'), 'SRFC');
    assert.equal(bytes[4], 1);
    assert.deepEqual(Buffer.from(bytes.subarray(5, 21)), Buffer.from(f.fleetId));
    assert.equal(bytes[21], 2);
    assert.equal(bytes[22], 10);
    // header 23 + two keys 64 + count 1 + per member (1+1+6+1+2+32)
    assert.equal(bytes.length, 23 + 64 + 1 + 3 * (1 + 1 + 6 + 1 + 2 + 32));
  });

  test('the seal label is the spec string', () => {
    assert.equal(new TextDecoder().decode(FLEET_CONFIG_AAD), 'strongroom/v1/fleet-config');
  });

  test('majority quorum by default, larger allowed, smaller or above N refused', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map(majorityQuorum), [1, 2, 2, 3, 3]);
    assert.equal(new FleetConfig({ ...fields(5), quorum: 5 }).quorum, 5);
    assert.throws(
      () => new FleetConfig({ ...fields(5), quorum: 2 }),
      /quorum must be an integer from 3 to 5/,
    );
    assert.throws(() => new FleetConfig({ ...fields(5), quorum: 6 }), /quorum/);
    assert.throws(
      () => new FleetConfig({ ...fields(4), quorum: 2 }),
      /quorum must be an integer from 3 to 4/,
    );
  });

  test('rejects bad sizes and values', () => {
    assert.throws(
      () => new FleetConfig({ ...fields(), fleetId: randomBytes(15) }),
      /fleet id must be 16 bytes/,
    );
    assert.throws(() => new FleetConfig({ ...fields(), hpkePublicKey: randomBytes(33) }), /HPKE public key/);
    assert.throws(
      () => new FleetConfig({ ...fields(), opaqueServerPublicKey: randomBytes(31) }),
      /OPAQUE server public key/,
    );
    assert.throws(() => new FleetConfig({ ...fields(), maxGuessLimit: 0 }), /max guess limit/);
    assert.throws(() => new FleetConfig({ ...fields(), maxGuessLimit: 256 }), /max guess limit/);
    assert.throws(() => new FleetConfig({ ...fields(), maxGuessLimit: 2.5 }), /max guess limit/);
    assert.throws(() => new FleetConfig({ ...fields(), members: [] }), /member count/);
    assert.throws(
      () => new FleetMember({ index: 0, name: 'n', region: 'eu', endorsementPublicKey: randomBytes(31) }),
      /endorsement public key must be 32 bytes/,
    );
    assert.throws(
      () =>
        new FleetMember({ index: 0, name: 'Node 0', region: 'eu', endorsementPublicKey: randomBytes(32) }),
      /member name/,
    );
    assert.throws(
      () => new FleetMember({ index: 0, name: 'n', region: '', endorsementPublicKey: randomBytes(32) }),
      /member region/,
    );
    assert.throws(
      () => new FleetMember({ index: 256, name: 'n', region: 'eu', endorsementPublicKey: randomBytes(32) }),
      /member index/,
    );
  });

  test('rejects members out of order, duplicate keys and duplicate names', () => {
    const f = fields(3);
    assert.throws(
      () => new FleetConfig({ ...f, members: [f.members[1]!, f.members[0]!, f.members[2]!] }),
      /indexes must be 0, 1, 2/,
    );
    const twin = new FleetMember({
      index: 1,
      name: 'node-1',
      region: 'us',
      endorsementPublicKey: f.members[0]!.endorsementPublicKey,
    });
    assert.throws(() => new FleetConfig({ ...f, members: [f.members[0]!, twin, f.members[2]!] }), /share/);
    const sameName = new FleetMember({
      index: 1,
      name: 'node-0',
      region: 'us',
      endorsementPublicKey: randomBytes(32),
    });
    assert.throws(
      () => new FleetConfig({ ...f, members: [f.members[0]!, sameName, f.members[2]!] }),
      /named/,
    );
  });

  test('copies its inputs: changing the caller buffer later changes nothing', () => {
    const f = fields(3);
    const config = new FleetConfig(f);
    const before = config.serialize();
    f.fleetId.fill(0);
    f.hpkePublicKey.fill(0);
    assert.deepEqual(config.serialize(), before);
  });

  test('every truncation, trailing byte, bad magic and bad version is refused', () => {
    const bytes = new FleetConfig(fields(3)).serialize();
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => FleetConfig.deserialize(bytes.subarray(0, length)), RangeError, `length ${length}`);
    }
    assert.throws(() => FleetConfig.deserialize(Uint8Array.of(...bytes, 0)), /trailing bytes/);
    const badMagic = Uint8Array.from(bytes);
    badMagic[0] = 0x58;
    assert.throws(() => FleetConfig.deserialize(badMagic), /bad magic/);
    const badVersion = Uint8Array.from(bytes);
    badVersion[4] = 2;
    assert.throws(() => FleetConfig.deserialize(badVersion), /unsupported version 2/);
    const badQuorum = Uint8Array.from(bytes);
    badQuorum[21] = 1;
    assert.throws(() => FleetConfig.deserialize(badQuorum), /quorum/);
    const badIndex = Uint8Array.from(bytes);
    badIndex[23 + 64 + 1] = 1; // first member's index
    assert.throws(() => FleetConfig.deserialize(badIndex), /indexes/);
  });
});

describe('FleetPublicInfo (fleet.pub)', () => {
  test('round-trips through text and bytes and matches the config it came from', () => {
    const config = new FleetConfig(fields(5));
    const info = config.publicInfo();
    const text = info.toText();
    const back = FleetPublicInfo.fromText(text);
    assertSameFleet(config, back);
    assert.equal(back.toText(), text);
    assert.deepEqual(FleetPublicInfo.deserialize(info.serialize()).serialize(), info.serialize());
  });

  test('is readable JSON with the format tag and lowercase hex', () => {
    const config = new FleetConfig(fields(3));
    const doc = JSON.parse(config.publicInfo().toText());
    assert.equal(doc.format, FLEET_PUB_FORMAT);
    assert.equal(doc.fleetId, Buffer.from(config.fleetId).toString('hex'));
    assert.equal(doc.nodes[2].region, 'ap');
    assert.equal(
      doc.nodes[2].endorsementPublicKey,
      Buffer.from(config.members[2]!.endorsementPublicKey).toString('hex'),
    );
    assert.equal(doc.quorum, 2);
    assert.equal(doc.maxGuessLimit, 10);
  });

  test('refuses a wrong format, a bad key length, uppercase hex, unknown or missing fields', () => {
    const doc = JSON.parse(new FleetConfig(fields(3)).publicInfo().toText());
    const parse = (change: (d: typeof doc) => void) => {
      const copy = structuredClone(doc);
      change(copy);
      return () => FleetPublicInfo.fromText(JSON.stringify(copy));
    };
    assert.throws(
      parse((d) => (d.format = 'strongroom-fleet-pub/v2')),
      /format must be/,
    );
    assert.throws(
      parse((d) => (d.hpkePublicKey = d.hpkePublicKey.slice(2))),
      /HPKE public key must be 32 bytes/,
    );
    assert.throws(
      parse((d) => (d.fleetId = d.fleetId.toUpperCase())),
      /lowercase hex/,
    );
    assert.throws(
      parse((d) => (d.extra = 1)),
      /unknown field "extra"/,
    );
    assert.throws(
      parse((d) => delete d.quorum),
      /missing field "quorum"/,
    );
    assert.throws(
      parse((d) => (d.nodes[0].index = 1)),
      /indexes/,
    );
    assert.throws(
      parse((d) => (d.nodes = {})),
      /nodes must be a list/,
    );
    assert.throws(
      parse((d) => (d.quorum = '2')),
      /quorum must be an integer/,
    );
    assert.throws(() => FleetPublicInfo.fromText('{'), /not JSON/);
    assert.throws(() => FleetPublicInfo.deserialize(Uint8Array.of(0xff, 0xfe)), /not UTF-8/);
  });
});
