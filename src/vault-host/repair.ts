// Disaster recovery of the record store from the nodes' marks (docs/PROTOCOL.md §9a): each node keeps, per record, the latest state it endorsed, its own
// signature on it, and the certified from-state it checked before endorsing. A state that a quorum
// of nodes still marks, with valid signatures, is a certified state, and so is every from-state
// whose certificate verifies; the highest such state per record is written back into the store
// (new, wiped or restored from an old backup) unless the store already holds it or a later one.
// Repair trusts nothing it reads: every signature is checked against the fleet's public keys, and
// the cores check every certificate again before they endorse anything built on it.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StrongroomError } from '../errors.ts';
import { NvramFile } from '../hsm-platform/nvram.ts';
import { nodePrimitives } from '../hsm-platform/primitives.ts';
import {
  Certificate,
  CertifiedState,
  NODE_MARK_PREFIX,
  NodeMark,
  type RecordState,
  type Signature,
} from '../protocol/vault/record.ts';
import type { RecordStore } from '../stores/record/record-store.ts';
import { certificateVerifies, endorsementVerifies, type FleetKeys } from './endorsement-check.ts';
import { NodeConfig } from './node-config.ts';

/** The marks one node holds (read from its NVRAM). */
export interface NodeMarks {
  readonly nodeIndex: number;
  readonly marks: readonly NodeMark[];
  /** Entries under the mark prefix that did not decode (a damaged NVRAM file). */
  readonly unreadable?: number;
}

export type RecordRepair =
  /** The store lacked this state (or held an older one): it now holds it, intents dropped. */
  | {
      readonly record: string;
      readonly outcome: 'rebuilt';
      readonly version: bigint;
      readonly previous?: bigint;
    }
  /** The store already held this certified state or a later one: left as it was. */
  | { readonly record: string; readonly outcome: 'unchanged'; readonly version: bigint }
  /**
   * Not every node was read, and a node that was read marks a later version (`markedUpTo`) than the
   * store now holds (`version`, rebuilt unless `previous` equals it or the store held it already):
   * that later version may be certified by nodes not read, and then the record refuses its next
   * operation until a repair reads every node (docs/PROTOCOL.md §9a).
   */
  | {
      readonly record: string;
      readonly outcome: 'possibly-behind';
      readonly version: bigint;
      readonly markedUpTo: bigint;
      /** Whether this repair wrote `version` (false: the store held it or a later one, or a dry run). */
      readonly written: boolean;
      readonly previous?: bigint;
    }
  /** No state of this record is marked by a quorum: nothing could be certified from the marks. */
  | { readonly record: string; readonly outcome: 'unrecoverable'; readonly reason: string };

export interface RepairReport {
  readonly records: readonly RecordRepair[];
  /**
   * Marks whose signature or carried certificate did not verify under the fleet's keys, or that
   * did not decode (damaged or not this fleet's).
   */
  readonly invalidMarks: number;
  /** Distinct nodes whose marks were read, of the fleet's `members`. */
  readonly nodesRead: number;
  readonly members: number;
}

interface Candidate {
  readonly state: RecordState;
  readonly signatures: Signature[];
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function stateHash(state: RecordState): Uint8Array {
  return nodePrimitives.sha256(state.hashInput());
}

/**
 * The highest certified state of each record the marks prove: marks are grouped by (record,
 * version, state hash), and a group signed by a quorum of distinct nodes is certified; so is each
 * from-state a mark carries whose certificate verifies.
 */
export function certifiedFromMarks(
  fleet: FleetKeys,
  nodes: readonly NodeMarks[],
): {
  certified: Map<string, CertifiedState>;
  unrecoverable: RecordRepair[];
  invalidMarks: number;
  /** The highest version a valid mark of a read node holds, per record. */
  highestMarks: Map<string, bigint>;
} {
  const byRecord = new Map<string, Map<string, Candidate>>();
  const highestMarks = new Map<string, bigint>();
  const carried = new Map<string, CertifiedState>();
  let invalidMarks = 0;
  for (const node of nodes) {
    invalidMarks += node.unreadable ?? 0;
    for (const mark of node.marks) {
      const signature = { nodeIndex: node.nodeIndex, signature: mark.signature };
      if (!endorsementVerifies(fleet, mark.state, signature)) {
        invalidMarks++;
        continue;
      }
      const record = hex(mark.state.recordId);
      if ((highestMarks.get(record) ?? 0n) < mark.state.version) highestMarks.set(record, mark.state.version);
      if (mark.from !== undefined) {
        const known = carried.get(record);
        if (!certificateVerifies(fleet, mark.from) || !sameRecord(mark.from.state, mark.state))
          invalidMarks++;
        else if (known === undefined || known.state.version < mark.from.state.version)
          carried.set(record, mark.from);
      }
      const groups = byRecord.get(record) ?? new Map<string, Candidate>();
      byRecord.set(record, groups);
      const group = `${mark.state.version}/${hex(stateHash(mark.state))}`;
      const candidate = groups.get(group) ?? { state: mark.state, signatures: [] };
      groups.set(group, candidate);
      if (!candidate.signatures.some((s) => s.nodeIndex === node.nodeIndex))
        candidate.signatures.push(signature);
    }
  }
  // With fewer than a quorum of nodes read, a carried certificate is likely an old state (every
  // node that endorsed past it is unread): writing it back would only make the record refuse its
  // next operation until a fuller repair. Such a partial read rebuilds from quorum groups only.
  const enoughNodes = new Set(nodes.map((node) => node.nodeIndex)).size >= fleet.quorum;
  const certified = new Map<string, CertifiedState>();
  const unrecoverable: RecordRepair[] = [];
  for (const [record, groups] of byRecord) {
    const quorate = [...groups.values()]
      .filter((candidate) => candidate.signatures.length >= fleet.quorum)
      .sort((a, b) => (a.state.version < b.state.version ? 1 : a.state.version > b.state.version ? -1 : 0));
    const best = quorate[0];
    const fromCarried = enoughNodes ? carried.get(record) : undefined;
    if (fromCarried !== undefined && (best === undefined || fromCarried.state.version > best.state.version)) {
      certified.set(record, fromCarried);
      continue;
    }
    if (best === undefined) {
      const highest = [...groups.values()].reduce(
        (max, c) => (c.state.version > max ? c.state.version : max),
        0n,
      );
      unrecoverable.push({
        record,
        outcome: 'unrecoverable',
        reason: enoughNodes
          ? `no state is marked by a quorum of ${fleet.quorum} nodes and no mark carries a valid certificate (highest mark: version ${highest})`
          : `no state is marked by a quorum of ${fleet.quorum} nodes (highest mark: version ${highest}); read the NVRAM files of at least ${fleet.quorum} nodes, and of every node to be sure of the latest state`,
      });
      continue;
    }
    const signatures = [...best.signatures].sort((a, b) => a.nodeIndex - b.nodeIndex).slice(0, fleet.quorum);
    certified.set(record, new CertifiedState(best.state, new Certificate(signatures)));
  }
  return { certified, unrecoverable, invalidMarks, highestMarks };
}

/** A from-state is for the mark's record, one version before it. */
function sameRecord(from: RecordState, to: RecordState): boolean {
  return hex(from.recordId) === hex(to.recordId) && from.version + 1n === to.version;
}

/**
 * Writes each record's highest certified state from the marks into `store` where the store holds
 * no valid certified state at that version or later. With `dryRun`, reports without writing.
 */
export async function repairRecordStore(
  store: RecordStore,
  fleet: FleetKeys,
  nodes: readonly NodeMarks[],
  options: { dryRun?: boolean } = {},
): Promise<RepairReport> {
  const { certified, unrecoverable, invalidMarks, highestMarks } = certifiedFromMarks(fleet, nodes);
  const nodesRead = new Set(nodes.map((node) => node.nodeIndex)).size;
  const everyNode = nodesRead >= fleet.members.length;
  const records: RecordRepair[] = [...unrecoverable];
  for (const [record, rebuilt] of certified) {
    const repaired = await repairOne(store, fleet, record, rebuilt, options.dryRun ?? false);
    const markedUpTo = highestMarks.get(record) ?? 0n;
    // Only a read of every node knows the latest certified state (§9a). From fewer, a read node
    // marking past what the store now holds may have helped certify that later version with nodes
    // not read; if it marks nothing later, no later version is certified (every quorum includes a
    // read node, since at least a quorum was read to certify anything).
    if (!everyNode && repaired.outcome !== 'unrecoverable' && markedUpTo > repaired.version) {
      records.push({
        record,
        outcome: 'possibly-behind',
        version: repaired.version,
        markedUpTo,
        written: repaired.outcome === 'rebuilt' && !(options.dryRun ?? false),
        ...(repaired.outcome === 'rebuilt' && repaired.previous !== undefined
          ? { previous: repaired.previous }
          : {}),
      });
    } else records.push(repaired);
  }
  records.sort((a, b) => a.record.localeCompare(b.record));
  return { records, invalidMarks, nodesRead, members: fleet.members.length };
}

async function repairOne(
  store: RecordStore,
  fleet: FleetKeys,
  record: string,
  rebuilt: CertifiedState,
  dryRun: boolean,
): Promise<RecordRepair> {
  const recordId = rebuilt.state.recordId;
  const version = rebuilt.state.version;
  // A concurrent writer (a node left running) can win a CAS; a few rounds settle it.
  for (let round = 0; round < 8; round++) {
    const slot = await store.get(recordId);
    const held = slot?.committed === undefined ? undefined : decodeCertified(slot.committed);
    if (held !== undefined && certificateVerifies(fleet, held) && held.state.version >= version) {
      return { record, outcome: 'unchanged', version: held.state.version };
    }
    const previous = held?.state.version;
    const result: RecordRepair = {
      record,
      outcome: 'rebuilt',
      version,
      ...(previous === undefined ? {} : { previous }),
    };
    if (dryRun) return result;
    if (
      (await store.compareAndSet(recordId, slot?.revision, { committed: rebuilt.serialize() })) !== undefined
    )
      return result;
  }
  return {
    record,
    outcome: 'unrecoverable',
    reason: 'the store kept changing while it was repaired; stop the nodes and run repair again',
  };
}

function decodeCertified(bytes: Uint8Array): CertifiedState | undefined {
  try {
    return CertifiedState.deserialize(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Reads the marks in a stopped node's NVRAM file (the node config names it): the entries under
 * the documented mark prefix (docs/PROTOCOL.md "Records and certificates"); marks are checked
 * later, by signature. A running node holds its NVRAM file exclusively, so this fails for it:
 * repair works from stopped nodes.
 */
export function readNodeMarks(configPath: string): NodeMarks {
  const config = NodeConfig.deserialize(readFileSync(configPath));
  let nvram: NvramFile;
  try {
    nvram = new NvramFile(NodeConfig.resolve(dirname(configPath), config.nvramPath));
  } catch (error) {
    throw new StrongroomError(`cannot read the NVRAM of ${config.name}`, {
      cause: error,
      hints: [`stop ${config.name} first: a running node holds its NVRAM file`],
    });
  }
  try {
    const marks: NodeMark[] = [];
    let unreadable = 0;
    for (const [, value] of nvram.entries(NODE_MARK_PREFIX)) {
      try {
        marks.push(NodeMark.deserialize(value));
      } catch {
        unreadable++; // a damaged entry: reported, nothing rebuilt from it
      }
    }
    return { nodeIndex: config.index, marks, unreadable };
  } finally {
    nvram.close();
  }
}
