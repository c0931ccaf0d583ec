// Rebuilding certified states from node marks (src/vault-host/repair.ts; docs/PROTOCOL.md
// §9a): quorum grouping, signature checks, records that cannot be rebuilt, and
// what is and is not written into a real SQLite store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nodePrimitives } from '../../src/hsm-platform/primitives.ts';
import {
  Certificate,
  CertifiedState,
  EndorsementMessage,
  NodeMark,
  RecordState,
  RecordStatus,
} from '../../src/protocol/vault/record.ts';
import { SqliteRecordStore } from '../../src/stores/record/sqlite.ts';
import { certificateVerifies } from '../../src/vault-host/endorsement-check.ts';
import { certifiedFromMarks, type NodeMarks, repairRecordStore } from '../../src/vault-host/repair.ts';
import { signingFleet } from './helpers/signing-fleet.ts';

const { seeds, fleet } = signingFleet();

function state(recordId: Uint8Array, version: bigint, guessesLeft = 10 - Number(version - 1n)): RecordState {
  return new RecordState({
    recordId,
    version,
    incarnation: 1n,
    status: RecordStatus.active,
    limit: 10,
    guessesLeft,
    lastSuccess: 1n,
    sealed: Uint8Array.of(1, 2, 3),
  });
}

function sign(node: number, s: RecordState): Uint8Array {
  const hash = nodePrimitives.sha256(s.hashInput());
  const message = new EndorsementMessage(fleet.fleetId, s.recordId, s.version, hash).serialize();
  return nodePrimitives.ed25519Sign(seeds[node] as Uint8Array, message);
}

const certified = (s: RecordState, nodes: number[]) =>
  new CertifiedState(
    s,
    new Certificate(nodes.map((nodeIndex) => ({ nodeIndex, signature: sign(nodeIndex, s) }))),
  );
/** Node `node`'s mark on `s`, carrying the from-state's certificate when there is one. */
const mark = (node: number, s: RecordState, from?: CertifiedState) => new NodeMark(s, sign(node, s), from);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const dir = mkdtempSync(join(tmpdir(), 'strongroom-repair-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newStore = () => new SqliteRecordStore(join(dir, `store-${files++}.sqlite`));

describe('certified states from marks', () => {
  it('takes the highest state a quorum marks, not a later one only a minority endorsed', () => {
    const id = new Uint8Array(randomBytes(16));
    const v3 = state(id, 3n);
    const nodes: NodeMarks[] = [
      { nodeIndex: 0, marks: [mark(0, state(id, 4n))] },
      { nodeIndex: 1, marks: [mark(1, v3)] },
      { nodeIndex: 2, marks: [mark(2, v3)] },
    ];
    const { certified: found, unrecoverable } = certifiedFromMarks(fleet, nodes);
    const rebuilt = found.get(hex(id));
    assert.ok(rebuilt);
    assert.equal(rebuilt.state.version, 3n);
    assert.deepEqual(
      rebuilt.certificate.signatures.map((s) => s.nodeIndex),
      [1, 2],
    );
    assert.ok(certificateVerifies(fleet, rebuilt));
    assert.deepEqual(unrecoverable, []);
  });

  it('rebuilds a record whose nodes moved on one by one, from the certificate a mark carries', () => {
    // v5 was certified by nodes 0 and 1; node 0 then endorsed a v6 nobody else did (its host
    // died), and node 2 last endorsed v4. No state is marked by a quorum any more, but node 0's
    // mark carries v5's certificate, which it checked before endorsing v6.
    const id = new Uint8Array(randomBytes(16));
    const v4 = certified(state(id, 4n), [1, 2]);
    const v5 = certified(state(id, 5n), [0, 1]);
    const nodes: NodeMarks[] = [
      { nodeIndex: 0, marks: [mark(0, state(id, 6n), v5)] },
      { nodeIndex: 1, marks: [mark(1, state(id, 5n), v4)] },
      { nodeIndex: 2, marks: [mark(2, state(id, 4n), certified(state(id, 3n), [0, 2]))] },
    ];
    const { certified: found, unrecoverable } = certifiedFromMarks(fleet, nodes);
    assert.deepEqual(unrecoverable, []);
    const rebuilt = found.get(hex(id));
    assert.equal(rebuilt?.state.version, 5n);
    assert.ok(rebuilt && certificateVerifies(fleet, rebuilt));
    // A carried certificate that does not verify proves nothing, and is counted as invalid.
    const forgedFrom = new CertifiedState(state(id, 9n), v5.certificate);
    const withForgery = certifiedFromMarks(fleet, [
      ...nodes,
      { nodeIndex: 1, marks: [mark(1, state(id, 10n), forgedFrom)] },
    ]);
    assert.equal(withForgery.certified.get(hex(id))?.state.version, 5n);
    assert.equal(withForgery.invalidMarks, 1);
    // One node's file alone is less than a quorum read: its carried certificate is not used.
    const alone = certifiedFromMarks(fleet, [nodes[0] as NodeMarks]);
    assert.equal(alone.certified.size, 0);
    assert.match(
      String(alone.unrecoverable[0]?.outcome === 'unrecoverable' && alone.unrecoverable[0].reason),
      /no state is marked by a quorum of 2 nodes .*read the NVRAM files of at least 2 nodes/,
    );
  });

  it('reports a record rebuilt from a partial read as possibly behind when a read node marks a later version', async () => {
    // v5 was certified by nodes 1 and 2 while node 0 was down; node 0 last endorsed v4.
    const behind = new Uint8Array(randomBytes(16));
    const v4 = certified(state(behind, 4n), [0, 1]);
    // Both read nodes mark v3, certified: nothing later can be certified without one of them.
    const exact = new Uint8Array(randomBytes(16));
    const everyNode: NodeMarks[] = [
      { nodeIndex: 0, marks: [mark(0, state(behind, 4n)), mark(0, state(exact, 3n))] },
      { nodeIndex: 1, marks: [mark(1, state(behind, 5n), v4), mark(1, state(exact, 3n))] },
      { nodeIndex: 2, marks: [mark(2, state(behind, 5n), v4), mark(2, state(exact, 2n))] },
    ];
    const outcomes = async (nodes: NodeMarks[]) => {
      const store = newStore();
      try {
        const report = await repairRecordStore(store, fleet, nodes);
        return { report, of: (id: Uint8Array) => report.records.find((r) => r.record === hex(id)) };
      } finally {
        await store.close();
      }
    };
    const partial = await outcomes(everyNode.slice(0, 2));
    assert.equal(partial.report.nodesRead, 2);
    assert.equal(partial.report.members, 3);
    assert.deepEqual(partial.of(behind), {
      record: hex(behind),
      outcome: 'possibly-behind',
      version: 4n,
      markedUpTo: 5n,
      written: true,
    });
    assert.deepEqual(partial.of(exact), { record: hex(exact), outcome: 'rebuilt', version: 3n });
    // Every node read: the latest certified state, and nothing possibly behind.
    const full = await outcomes(everyNode);
    assert.deepEqual(full.of(behind), { record: hex(behind), outcome: 'rebuilt', version: 5n });
    assert.deepEqual(full.of(exact), { record: hex(exact), outcome: 'rebuilt', version: 3n });
  });

  it('does not count two different states at one version together', () => {
    const id = new Uint8Array(randomBytes(16));
    const nodes: NodeMarks[] = [
      { nodeIndex: 0, marks: [mark(0, state(id, 2n, 9))] },
      { nodeIndex: 1, marks: [mark(1, state(id, 2n, 8))] },
    ];
    const { certified: found, unrecoverable } = certifiedFromMarks(fleet, nodes);
    assert.equal(found.size, 0);
    assert.equal(unrecoverable[0]?.outcome, 'unrecoverable');
    assert.match(
      String(unrecoverable[0]?.outcome === 'unrecoverable' && unrecoverable[0].reason),
      /highest mark: version 2/,
    );
  });

  it('ignores and counts marks whose signature does not verify under their node’s key', () => {
    const id = new Uint8Array(randomBytes(16));
    const v2 = state(id, 2n);
    const nodes: NodeMarks[] = [
      { nodeIndex: 0, marks: [mark(0, v2)] },
      // Node 1's file holds a mark signed by node 2: it is not node 1's endorsement.
      { nodeIndex: 1, marks: [new NodeMark(v2, sign(2, v2))] },
      // A mark whose state was edited after signing.
      { nodeIndex: 2, marks: [new NodeMark(state(id, 2n, 10), sign(2, v2))] },
    ];
    const { certified: found, invalidMarks } = certifiedFromMarks(fleet, nodes);
    assert.equal(found.size, 0);
    assert.equal(invalidMarks, 2);
  });
});

describe('repairing a store', () => {
  it('writes missing and older states, keeps current and later ones, and drops stale intents', async () => {
    const store = newStore();
    try {
      const [missing, older, current, later, forged] = [0, 1, 2, 3, 4].map(
        () => new Uint8Array(randomBytes(16)),
      );
      const at = (id: Uint8Array | undefined, v: bigint) => state(id as Uint8Array, v);
      const all = [missing, older, current, later, forged].map((id) => at(id, 3n));
      const nodes: NodeMarks[] = [0, 1, 2].map((nodeIndex) => ({
        nodeIndex,
        marks: all.map((s) => mark(nodeIndex, s)),
      }));
      await store.compareAndSet(older as Uint8Array, undefined, {
        committed: certified(at(older, 1n), [0, 1]).serialize(),
        intent: Uint8Array.of(9),
      });
      await store.compareAndSet(current as Uint8Array, undefined, {
        committed: certified(at(current, 3n), [0, 2]).serialize(),
      });
      await store.compareAndSet(later as Uint8Array, undefined, {
        committed: certified(at(later, 5n), [1, 2]).serialize(),
      });
      // A later state whose certificate has one real signature only: not certified, replaced.
      await store.compareAndSet(forged as Uint8Array, undefined, {
        committed: new CertifiedState(
          at(forged, 9n),
          new Certificate([{ nodeIndex: 0, signature: sign(0, at(forged, 9n)) }]),
        ).serialize(),
      });

      const dry = await repairRecordStore(store, fleet, nodes, { dryRun: true });
      assert.equal(dry.records.filter((r) => r.outcome === 'rebuilt').length, 3);
      assert.equal(await store.get(missing as Uint8Array), undefined, 'a dry run writes nothing');

      const report = await repairRecordStore(store, fleet, nodes);
      const outcome = (id: Uint8Array | undefined) =>
        report.records.find((r) => r.record === hex(id as Uint8Array));
      assert.deepEqual(outcome(missing), {
        record: hex(missing as Uint8Array),
        outcome: 'rebuilt',
        version: 3n,
      });
      assert.deepEqual(outcome(older), {
        record: hex(older as Uint8Array),
        outcome: 'rebuilt',
        version: 3n,
        previous: 1n,
      });
      assert.deepEqual(outcome(current), {
        record: hex(current as Uint8Array),
        outcome: 'unchanged',
        version: 3n,
      });
      assert.deepEqual(outcome(later), {
        record: hex(later as Uint8Array),
        outcome: 'unchanged',
        version: 5n,
      });
      assert.deepEqual(outcome(forged), {
        record: hex(forged as Uint8Array),
        outcome: 'rebuilt',
        version: 3n,
        previous: 9n,
      });

      const olderSlot = await store.get(older as Uint8Array);
      assert.equal(olderSlot?.intent, undefined, 'the stale intent is dropped with the stale state');
      assert.equal(CertifiedState.deserialize(olderSlot?.committed as Uint8Array).state.version, 3n);
      assert.equal(
        CertifiedState.deserialize((await store.get(later as Uint8Array))?.committed as Uint8Array).state
          .version,
        5n,
      );
    } finally {
      await store.close();
    }
  });
});
