// The fleet's configuration (docs/CEREMONY.md "Terms"): what every core trusts, sealed by the key ceremony
// (FleetConfig), and the public part a client pins (FleetPublicInfo, the `fleet.pub` file).
//
// FleetConfig wire layout (all integers big-endian):
//   magic "SRFC" (4) || version u8 = 1 || fleetId (16) || quorum u8 || maxGuessLimit u8
//   || hpkePublicKey (32, X25519) || opaqueServerPublicKey (32, ristretto255)
//   || memberCount u8 (1..255) || member*
//   member = index u8 || nameLen u8 || name (ASCII) || regionLen u8 || region (ASCII)
//            || endorsementPublicKey (32, Ed25519)
// Members appear in index order and their indexes are 0..memberCount-1, so a node index in a
// certificate names exactly one member. The ceremony seals these bytes with
// keystore.seal(bytes, FLEET_CONFIG_AAD): a host cannot hand a core any other membership, quorum or
// guess limit, because only the ceremony (holding the record key) can make a sealed config.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { concat } from './vault/bytes.ts';

/** aad under which the ceremony seals FleetConfig bytes with the fleet's record-sealing key. */
export const FLEET_CONFIG_AAD: Uint8Array = new TextEncoder().encode('strongroom/v1/fleet-config');

/** Format tag of the `fleet.pub` file. */
export const FLEET_PUB_FORMAT = 'strongroom-fleet-pub/v1';

export const FLEET_ID_LENGTH = 16;
export const X25519_PUBLIC_KEY_LENGTH = 32;
export const OPAQUE_SERVER_PUBLIC_KEY_LENGTH = 32;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
/** Largest guess limit a ceremony may allow (u8 on the wire); records pick a limit up to the fleet's. */
export const MAX_GUESS_LIMIT = 255;
export const MAX_MEMBERS = 255;

const MAGIC = new Uint8Array([0x53, 0x52, 0x46, 0x43]); // "SRFC"
const VERSION = 1;
/** Node names and regions: lowercase ASCII, digits and dashes, so they are safe in logs and paths. */
const LABEL_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Smallest quorum allowed for `n` members: a strict majority, so two quorums always share a node. */
export function majorityQuorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

function checkLength(field: string, bytes: Uint8Array, length: number): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RangeError(`fleet: ${field} must be ${length} bytes`);
  }
  return Uint8Array.from(bytes);
}

function checkLabel(field: string, value: string): string {
  if (typeof value !== 'string' || !LABEL_PATTERN.test(value)) {
    throw new RangeError(
      `fleet: ${field} must be 1-63 characters of a-z, 0-9 and '-' (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

function checkInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`fleet: ${field} must be an integer from ${min} to ${max} (got ${value})`);
  }
  return value;
}

/** One node of the fleet: its index in certificates, its name and region, its endorsement key. */
export class FleetMember {
  /** Position in the member list and in certificates (0-based). */
  readonly index: number;
  /** Human name, e.g. "node-0". */
  readonly name: string;
  /** Region label, e.g. "eu": ChatD routes to the nearest region first. */
  readonly region: string;
  /** Ed25519 public key that verifies this node's endorsements. */
  readonly endorsementPublicKey: Uint8Array;

  constructor(fields: { index: number; name: string; region: string; endorsementPublicKey: Uint8Array }) {
    this.index = checkInteger('member index', fields.index, 0, MAX_MEMBERS - 1);
    this.name = checkLabel('member name', fields.name);
    this.region = checkLabel('member region', fields.region);
    this.endorsementPublicKey = checkLength(
      'member endorsement public key',
      fields.endorsementPublicKey,
      ED25519_PUBLIC_KEY_LENGTH,
    );
  }
}

interface FleetFields {
  fleetId: Uint8Array;
  members: readonly FleetMember[];
  quorum: number;
  maxGuessLimit: number;
  hpkePublicKey: Uint8Array;
  opaqueServerPublicKey: Uint8Array;
}

/** Checks the fields FleetConfig and FleetPublicInfo share; returns defensive copies. */
function checkFleetFields(fields: FleetFields): FleetFields {
  const members = [...fields.members];
  checkInteger('member count', members.length, 1, MAX_MEMBERS);
  const keys = new Set<string>();
  const names = new Set<string>();
  members.forEach((member, position) => {
    if (!(member instanceof FleetMember)) throw new TypeError('fleet: members must be FleetMember objects');
    if (member.index !== position)
      throw new RangeError('fleet: member indexes must be 0, 1, 2, ... in order');
    const key = bytesToHex(member.endorsementPublicKey);
    if (keys.has(key)) throw new RangeError('fleet: two members share an endorsement public key');
    if (names.has(member.name)) throw new RangeError(`fleet: two members are named ${member.name}`);
    keys.add(key);
    names.add(member.name);
  });
  return {
    fleetId: checkLength('fleet id', fields.fleetId, FLEET_ID_LENGTH),
    members,
    quorum: checkInteger('quorum', fields.quorum, majorityQuorum(members.length), members.length),
    maxGuessLimit: checkInteger('max guess limit', fields.maxGuessLimit, 1, MAX_GUESS_LIMIT),
    hpkePublicKey: checkLength('HPKE public key', fields.hpkePublicKey, X25519_PUBLIC_KEY_LENGTH),
    opaqueServerPublicKey: checkLength(
      'OPAQUE server public key',
      fields.opaqueServerPublicKey,
      OPAQUE_SERVER_PUBLIC_KEY_LENGTH,
    ),
  };
}

/**
 * The facts about a fleet that both its sealed configuration and its public file carry: membership,
 * quorum, guess limit and the public keys. Validated once, here.
 */
abstract class FleetFacts {
  /** 16 random bytes naming the fleet; OPAQUE's server identity and part of every bound message. */
  readonly fleetId: Uint8Array;
  /** Every node, in index order. Fixed for the fleet's life (docs/ARCHITECTURE.md "Processes and deployment"). */
  readonly members: readonly FleetMember[];
  /** Distinct member signatures a certificate needs: at least a majority. */
  readonly quorum: number;
  /** Largest guess limit a record may choose. */
  readonly maxGuessLimit: number;
  /** X25519 public key clients seal requests to (the cores hold the private key). */
  readonly hpkePublicKey: Uint8Array;
  /** OPAQUE server static public key, which the client compares with OPAQUE's serverStaticPublicKey. */
  readonly opaqueServerPublicKey: Uint8Array;

  constructor(fields: FleetFields) {
    const checked = checkFleetFields(fields);
    this.fleetId = checked.fleetId;
    this.members = Object.freeze(checked.members);
    this.quorum = checked.quorum;
    this.maxGuessLimit = checked.maxGuessLimit;
    this.hpkePublicKey = checked.hpkePublicKey;
    this.opaqueServerPublicKey = checked.opaqueServerPublicKey;
  }
}

/** What the cores trust about their fleet; only ever accepted from a seal under FLEET_CONFIG_AAD. */
export class FleetConfig extends FleetFacts {
  serialize(): Uint8Array {
    const encoder = new TextEncoder();
    const parts: Uint8Array[] = [
      MAGIC,
      Uint8Array.of(VERSION),
      this.fleetId,
      Uint8Array.of(this.quorum, this.maxGuessLimit),
      this.hpkePublicKey,
      this.opaqueServerPublicKey,
      Uint8Array.of(this.members.length),
    ];
    for (const member of this.members) {
      const name = encoder.encode(member.name);
      const region = encoder.encode(member.region);
      parts.push(Uint8Array.of(member.index, name.length), name, Uint8Array.of(region.length), region);
      parts.push(member.endorsementPublicKey);
    }
    return concat(...parts);
  }

  static deserialize(bytes: Uint8Array): FleetConfig {
    const reader = new Reader(bytes);
    const magic = reader.take(MAGIC.length);
    if (!magic.every((byte, i) => byte === MAGIC[i])) throw new RangeError('fleet config: bad magic');
    const version = reader.u8();
    if (version !== VERSION) throw new RangeError(`fleet config: unsupported version ${version}`);
    const fleetId = reader.take(FLEET_ID_LENGTH);
    const quorum = reader.u8();
    const maxGuessLimit = reader.u8();
    const hpkePublicKey = reader.take(X25519_PUBLIC_KEY_LENGTH);
    const opaqueServerPublicKey = reader.take(OPAQUE_SERVER_PUBLIC_KEY_LENGTH);
    const count = reader.u8();
    const members: FleetMember[] = [];
    for (let i = 0; i < count; i++) {
      const index = reader.u8();
      const name = reader.ascii(reader.u8());
      const region = reader.ascii(reader.u8());
      members.push(
        new FleetMember({
          index,
          name,
          region,
          endorsementPublicKey: reader.take(ED25519_PUBLIC_KEY_LENGTH),
        }),
      );
    }
    reader.end();
    return new FleetConfig({ fleetId, members, quorum, maxGuessLimit, hpkePublicKey, opaqueServerPublicKey });
  }

  /** The member with this index, or undefined: certificates name signers by index. */
  member(index: number): FleetMember | undefined {
    return this.members[index];
  }

  /** The public part a client pins. */
  publicInfo(): FleetPublicInfo {
    return new FleetPublicInfo(this);
  }
}

/**
 * `fleet.pub`: what a client pins, as readable JSON with lowercase hex fields. It is public (it
 * holds no secret); its integrity matters, so apps ship it rather than fetch it from ChatD.
 *
 *   { "format": "strongroom-fleet-pub/v1", "fleetId": hex16, "hpkePublicKey": hex32,
 *     "opaqueServerPublicKey": hex32, "quorum": n, "maxGuessLimit": n,
 *     "nodes": [{ "index": 0, "name": "node-0", "region": "eu", "endorsementPublicKey": hex32 }] }
 */
export class FleetPublicInfo extends FleetFacts {
  /** The file's text (UTF-8 JSON, two-space indented, ending in a newline). */
  toText(): string {
    const document = {
      format: FLEET_PUB_FORMAT,
      fleetId: bytesToHex(this.fleetId),
      hpkePublicKey: bytesToHex(this.hpkePublicKey),
      opaqueServerPublicKey: bytesToHex(this.opaqueServerPublicKey),
      quorum: this.quorum,
      maxGuessLimit: this.maxGuessLimit,
      nodes: this.members.map((member) => ({
        index: member.index,
        name: member.name,
        region: member.region,
        endorsementPublicKey: bytesToHex(member.endorsementPublicKey),
      })),
    };
    return `${JSON.stringify(document, null, 2)}\n`;
  }

  serialize(): Uint8Array {
    return new TextEncoder().encode(this.toText());
  }

  static fromText(text: string): FleetPublicInfo {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new RangeError('fleet.pub: not JSON');
    }
    const doc = asObject(document, 'fleet.pub', [
      'format',
      'fleetId',
      'hpkePublicKey',
      'opaqueServerPublicKey',
      'quorum',
      'maxGuessLimit',
      'nodes',
    ]);
    if (doc.format !== FLEET_PUB_FORMAT) {
      throw new RangeError(`fleet.pub: format must be ${JSON.stringify(FLEET_PUB_FORMAT)}`);
    }
    if (!Array.isArray(doc.nodes)) throw new RangeError('fleet.pub: nodes must be a list');
    const members = doc.nodes.map((node: unknown) => {
      const n = asObject(node, 'fleet.pub node', ['index', 'name', 'region', 'endorsementPublicKey']);
      return new FleetMember({
        index: n.index as number,
        name: n.name as string,
        region: n.region as string,
        endorsementPublicKey: hexField('endorsementPublicKey', n.endorsementPublicKey),
      });
    });
    return new FleetPublicInfo({
      fleetId: hexField('fleetId', doc.fleetId),
      members,
      quorum: doc.quorum as number,
      maxGuessLimit: doc.maxGuessLimit as number,
      hpkePublicKey: hexField('hpkePublicKey', doc.hpkePublicKey),
      opaqueServerPublicKey: hexField('opaqueServerPublicKey', doc.opaqueServerPublicKey),
    });
  }

  static deserialize(bytes: Uint8Array): FleetPublicInfo {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new RangeError('fleet.pub: not UTF-8 text');
    }
    return FleetPublicInfo.fromText(text);
  }
}

/** A JSON object with exactly these keys (an unknown key may be a field this version would ignore). */
function asObject(value: unknown, what: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RangeError(`${what}: must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  const present = Object.keys(record);
  const unknown = present.filter((key) => !keys.includes(key));
  if (unknown.length > 0) throw new RangeError(`${what}: unknown field ${JSON.stringify(unknown[0])}`);
  const missing = keys.filter((key) => !present.includes(key));
  if (missing.length > 0) throw new RangeError(`${what}: missing field ${JSON.stringify(missing[0])}`);
  return record;
}

/** Lowercase hex only, so one key has one spelling in the pinned file. */
function hexField(field: string, value: unknown): Uint8Array {
  if (typeof value !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(value)) {
    throw new RangeError(`fleet.pub: ${field} must be lowercase hex`);
  }
  return hexToBytes(value);
}

/** Bounds-checked reads of the FleetConfig layout; every read fails cleanly on truncation. */
class Reader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  take(length: number): Uint8Array {
    if (this.offset + length > this.bytes.length) throw new RangeError('fleet config: truncated');
    const out = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  ascii(length: number): string {
    const bytes = this.take(length);
    if (bytes.some((byte) => byte > 0x7e || byte < 0x20))
      throw new RangeError('fleet config: non-ASCII label');
    return String.fromCharCode(...bytes);
  }

  end(): void {
    if (this.offset !== this.bytes.length) throw new RangeError('fleet config: trailing bytes');
  }
}
