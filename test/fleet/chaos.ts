// Randomized fault rounds against a whole fleet (docs/PROTOCOL.md §9, §9b): several clients guess
// at once through one node and through the failover relay while nodes (and, for a lost region, the
// etcd member with them) are killed -9 at a random moment and restarted at another. After each
// round the record's whole history in etcd (never compacted) is checked against what the clients
// were told, strictly: every committed version follows the last by one, no pending intent is ever
// replaced by another, every wrong answer is a distinct certified spend, every recovery follows a
// certified refund (its own, or for a relayed retry the latest before it), every spend pays for a
// KE1 a request sent (one each), and a KE1 is paid again only after an attempt the failover relay
// gave up on a node for (a node that died after its spend was certified, before its answer left:
// the relay's retry of the same KE1 pays again if other spends came in between,
// docs/PROTOCOL.md §9b).
// Used by test/fleet/chaos.test.ts (a few rounds of each shape, in `npm test`) and by
// test/fleet/soak.ts (`npm run soak:fleet`: many rounds, keeping the evidence when one fails).
import assert from 'node:assert/strict';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecoveryResult } from '../../src/client/vault/client.ts';
import { messageOf, UnavailableError, WrongPasswordError } from '../../src/errors.ts';
import { Intent, TransitionKind } from '../../src/protocol/vault/intent.ts';
import { CertifiedState, type RecordState } from '../../src/protocol/vault/record.ts';
import { decodeSlotValue } from '../../src/stores/record/slot-value.ts';
import type { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { retryUntilAvailable } from '../helpers/eventually.ts';
import type { ProcessFleet } from './fleet.ts';

const randomBytes = (length: number) => new Uint8Array(nodeRandomBytes(length));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Node i and etcd member i share region REGIONS[i]. */
export const REGIONS = ['eu', 'us', 'ap'] as const;
const LIMIT = 10;
/** Concurrent clients pinned to one node, each making this many wrong guesses in a row. */
const PINNED_CLIENTS = 3;
const GUESSES_EACH = 2;

export type Scenario = 'endorser' | 'coordinator' | 'etcd-leader-region' | 'majority';
export const SCENARIOS: readonly Scenario[] = ['endorser', 'coordinator', 'etcd-leader-region', 'majority'];

export interface ChaosEnv {
  readonly fleet: ProcessFleet;
  readonly etcd: EtcdCluster;
  /** The key prefix the fleet's store uses (etcd.url(prefix)). */
  readonly prefix: string;
}

export interface RoundReport {
  readonly scenario: Scenario;
  readonly record: string;
  /** Node indexes killed (for etcd-leader-region, the etcd member of the same index too). */
  readonly killed: readonly number[];
  readonly pinnedTo: number;
  readonly failoverRegion: string;
  readonly killAfterMs: number;
  readonly restartAfterMs: number;
  readonly told: number;
  readonly recovered: number;
  readonly unavailable: number;
  /** Attempts the failover client's relay gave up on a node for. */
  readonly failovers: number;
  readonly spends: number;
  readonly refunds: number;
  /** Endorsements the nodes refused as "conflict" during the round (logged `endorsement-refused`). */
  readonly conflicts: number;
  readonly finalVersion: bigint;
  /** The record's slot in etcd, one line per revision, oldest first. */
  readonly history: readonly string[];
}

/** A failed invariant, with what the round did and the record's history, for the soak's evidence. */
export class RoundFailure extends Error {
  constructor(
    message: string,
    readonly round: Partial<RoundReport>,
    readonly history: readonly string[],
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

type Outcome =
  | { kind: 'wrong'; guessesLeft: number }
  | { kind: 'recovered'; version: bigint }
  | { kind: 'unavailable' };

async function attempt(run: () => Promise<RecoveryResult>, key: Uint8Array): Promise<Outcome> {
  try {
    const result = await run();
    assert.deepEqual(result.key.exposeBytes(), key, 'a recovery returned the right key');
    return { kind: 'recovered', version: BigInt(result.version) };
  } catch (error) {
    if (error instanceof WrongPasswordError) return { kind: 'wrong', guessesLeft: error.guessesLeft };
    if (error instanceof UnavailableError) return { kind: 'unavailable' };
    throw error;
  }
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** Which nodes die, which node the pinned clients use and which region the failover client prefers. */
async function plan(env: ChaosEnv, scenario: Scenario, random: () => number) {
  const nodes = [0, 1, 2];
  if (scenario === 'etcd-leader-region') {
    const leader = (await env.etcd.leader()) ?? pick(random, nodes);
    const pinnedTo = pick(
      random,
      nodes.filter((n) => n !== leader),
    );
    return { killed: [leader], pinnedTo, failoverRegion: REGIONS[leader] as string };
  }
  const pinnedTo = pick(random, nodes);
  if (scenario === 'endorser') {
    const killed = pick(
      random,
      nodes.filter((n) => n !== pinnedTo),
    );
    return { killed: [killed], pinnedTo, failoverRegion: REGIONS[pinnedTo] as string };
  }
  if (scenario === 'coordinator')
    return { killed: [pinnedTo], pinnedTo, failoverRegion: REGIONS[pinnedTo] as string };
  const spared = pick(random, nodes);
  return {
    killed: nodes.filter((n) => n !== spared),
    pinnedTo,
    failoverRegion: pick(random, REGIONS) as string,
  };
}

/** The record's slot values in etcd, oldest first, decoded. */
async function historyOf(env: ChaosEnv, recordId: Uint8Array) {
  const key = Buffer.from(`${env.prefix}/${hex(recordId)}`);
  const values = await env.etcd.history(key);
  return values.map(({ modRevision, value }) => {
    const parts = decodeSlotValue(value);
    return {
      modRevision,
      committed:
        parts.committed === undefined ? undefined : CertifiedState.deserialize(parts.committed).state,
      intent: parts.intent === undefined ? undefined : Intent.deserialize(parts.intent),
    };
  });
}

function describeState(state: RecordState | undefined): string {
  return state === undefined
    ? '-'
    : `v${state.version} guesses ${state.guessesLeft} lastSuccess ${state.lastSuccess} paidAt ${state.ke1PaidAt ?? '-'}` +
        ` ke1 ${state.ke1Hash === undefined ? '-' : hex(state.ke1Hash).slice(0, 8)}`;
}

/** Runs one round; throws RoundFailure if any invariant fails (the fleet is left running). */
export async function chaosRound(
  env: ChaosEnv,
  scenario: Scenario,
  random: () => number,
): Promise<RoundReport> {
  const { fleet, etcd } = env;
  const recordId = randomBytes(16);
  const key = randomBytes(32);
  const partial: Partial<RoundReport> & { scenario: Scenario } = { scenario, record: hex(recordId) };
  let history: string[] = [];
  try {
    await retryUntilAvailable(() => fleet.client().enable(recordId, 'right', key, LIMIT), 20_000);
    const { killed, pinnedTo, failoverRegion } = await plan(env, scenario, random);
    const killAfterMs = Math.floor(random() * 800);
    const restartAfterMs = Math.floor(random() * 1200);
    Object.assign(partial, { killed, pinnedTo, failoverRegion, killAfterMs, restartAfterMs });
    const conflictsBefore = fleet.nodes.map((node) => node.events('endorsement-refused').length);

    const pinned = Array.from({ length: PINNED_CLIENTS }, () => fleet.clientOf(pinnedTo, undefined, 0));
    let failovers = 0;
    const failover = fleet.client({
      region: failoverRegion,
      retries: 0,
      onNodeFailure: () => {
        failovers++;
      },
    });
    const work: Promise<Outcome[]>[] = [
      ...pinned.map(async (client) => {
        const outcomes: Outcome[] = [];
        for (let i = 0; i < GUESSES_EACH; i++)
          outcomes.push(await attempt(() => client.recover(recordId, 'wrong'), key));
        return outcomes;
      }),
      (async () => [
        await attempt(() => failover.recover(recordId, 'right'), key),
        await attempt(() => failover.recover(recordId, 'wrong'), key),
      ])(),
    ];
    const faults = (async () => {
      await sleep(killAfterMs);
      await Promise.all([
        ...killed.map((n) => fleet.nodes[n]?.kill()),
        ...(scenario === 'etcd-leader-region' ? killed.map((n) => etcd.kill(n)) : []),
      ]);
      await sleep(restartAfterMs);
      if (scenario === 'etcd-leader-region') await Promise.all(killed.map((n) => etcd.restart(n)));
      await Promise.all(killed.map((n) => fleet.nodes[n]?.start(30_000)));
    })();
    const [outcomes] = await Promise.all([Promise.all(work), faults]);
    const all = outcomes.flat();
    const rightCalls = 1;

    // Every node up again: the next operation finishes whatever the faults left pending.
    const settled = await retryUntilAvailable(() => fleet.client().status(recordId), 30_000);
    const values = await historyOf(env, recordId);
    history = values.map(
      (v) =>
        `rev ${v.modRevision}: committed ${describeState(v.committed)}; intent ${v.intent === undefined ? '-' : `${TransitionKind[v.intent.kind]} to ${describeState(v.intent.to)}`}`,
    );

    // The committed chain: each new committed state is the next version; intents never replaced.
    const chain: RecordState[] = [];
    for (const [i, value] of values.entries()) {
      const previous = values[i - 1];
      if (previous?.intent !== undefined && value.intent !== undefined)
        assert.deepEqual(
          value.intent.serialize(),
          previous.intent.serialize(),
          `rev ${value.modRevision}: a pending intent was written over`,
        );
      const last = chain.at(-1);
      if (value.committed === undefined) {
        assert.equal(last, undefined, `rev ${value.modRevision}: the committed state disappeared`);
        continue;
      }
      if (last !== undefined && value.committed.version === last.version) {
        assert.deepEqual(
          value.committed.serialize(),
          last.serialize(),
          `rev ${value.modRevision}: two states at one version`,
        );
        continue;
      }
      assert.equal(
        value.committed.version,
        (last?.version ?? 0n) + 1n,
        `rev ${value.modRevision}: committed version skipped or went back`,
      );
      chain.push(value.committed);
    }
    assert.equal(chain.at(-1)?.version, BigInt(settled.version), 'status answers the last committed state');
    const spendsLeft: number[] = [];
    /** The KE1s the spends paid for: one request sends one KE1 (clients here never retry). */
    const paidKe1s = new Set<string>();
    const refundVersions: bigint[] = [];
    for (let i = 1; i < chain.length; i++) {
      const [from, to] = [chain[i - 1] as RecordState, chain[i] as RecordState];
      if (to.guessesLeft === from.guessesLeft - 1 && to.ke1PaidAt === to.version && to.ke1Hash) {
        spendsLeft.push(to.guessesLeft);
        paidKe1s.add(hex(to.ke1Hash));
      } else if (to.guessesLeft === from.guessesLeft + 1 && to.lastSuccess > from.lastSuccess)
        refundVersions.push(to.version);
      else
        assert.fail(
          `v${to.version}: neither a spend nor a refund (${describeState(from)} -> ${describeState(to)})`,
        );
    }

    // What the clients were told, against the chain.
    const told = all.filter((o) => o.kind === 'wrong');
    const recovered = all.filter((o) => o.kind === 'recovered');
    const unavailable = all.filter((o) => o.kind === 'unavailable').length;
    const unmatched = [...spendsLeft];
    for (const wrong of told) {
      const at = unmatched.indexOf(wrong.guessesLeft);
      assert.notEqual(
        at,
        -1,
        `a wrong answer with ${wrong.guessesLeft} guesses left matches no certified spend`,
      );
      unmatched.splice(at, 1);
    }
    // A recovery is answered from its own certified refund, or (a login finish the relay retried
    // after the node that committed its refund died) from a later state that no other refund has
    // replaced since (docs/PROTOCOL.md §10 "Recover", step 3): K again, and no second refund.
    let answeredLate = 0;
    for (const success of recovered) {
      const refund = refundVersions.filter((v) => v <= success.version).at(-1);
      assert.ok(refund !== undefined, `the recovery at v${success.version} follows a certified refund`);
      if (refund !== success.version) answeredLate++;
    }
    assert.ok(
      answeredLate <= failovers,
      `${answeredLate} recoveries answered after their refund with ${failovers} failovers`,
    );
    const spends = spendsLeft.length;
    assert.ok(spends >= told.length + recovered.length, 'every answered guess was spent');
    assert.ok(paidKe1s.size <= all.length, `${paidKe1s.size} KE1s paid for ${all.length} requests`);
    assert.ok(
      spends - paidKe1s.size <= failovers,
      `${spends - paidKe1s.size} KE1s paid twice with ${failovers} failovers`,
    );
    assert.ok(refundVersions.length <= rightCalls, 'no refund without a right password');
    assert.equal(settled.guessesLeft, LIMIT - spends + refundVersions.length, 'the count is the chain');

    // Nothing is wedged: the right password still works, and the count it reports is exact.
    const final = await retryUntilAvailable(() => fleet.client().recover(recordId, 'right'), 30_000);
    assert.deepEqual(final.key.exposeBytes(), key);
    assert.equal(final.failedGuessesSinceLastSuccess, LIMIT - settled.guessesLeft);

    const conflicts = fleet.nodes.reduce(
      (sum, node, i) =>
        sum +
        node
          .events('endorsement-refused')
          .slice(conflictsBefore[i])
          .filter((event) => event.record === hex(recordId) && event.reason === 'conflict').length,
      0,
    );
    return {
      scenario,
      record: hex(recordId),
      killed,
      pinnedTo,
      failoverRegion,
      killAfterMs,
      restartAfterMs,
      told: told.length,
      recovered: recovered.length,
      unavailable,
      failovers,
      spends,
      refunds: refundVersions.length,
      conflicts,
      finalVersion: BigInt(final.version),
      history,
    };
  } catch (error) {
    if (history.length === 0)
      history = await historyOf(env, recordId)
        .then((v) => v.map((x) => `rev ${x.modRevision}: ${describeState(x.committed)}`))
        .catch(() => []);
    throw new RoundFailure(
      `${scenario} round on ${hex(recordId)} failed: ${messageOf(error)}`,
      partial,
      history,
      {
        cause: error,
      },
    );
  }
}

/** A small seeded generator (mulberry32), so a round's random choices can be told in its report. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
