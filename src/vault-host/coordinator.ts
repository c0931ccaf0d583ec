// The untrusted coordinator (docs/PROTOCOL.md §9 "Coordinator"): relays a
// sealed client frame to the cores, and for every transition writes the pending intent (CAS),
// gathers endorsements in parallel until a quorum, then commits state + certificate (CAS). It
// finishes any pending intent it finds first. Nothing here is trusted: the cores check everything,
// and the coordinator checks every endorsement before it counts it, so no answer of a lying or
// impersonated node ever reaches a certificate.

import type { VaultActivity } from '../protocol/vault/activity.ts';
import { MalformedFrameError, toHex } from '../protocol/vault/bytes.ts';
import {
  type CoreRequest,
  type CoreResponse,
  deserializeCoreResponse,
  ProposeAction,
  serializeCoreRequest,
} from '../protocol/vault/core-rpc.ts';
import {
  deserializeResponseFrame,
  ErrorCode,
  serializeResponseFrame,
  VaultOp,
  VaultRequestFrame,
} from '../protocol/vault/frames.ts';
import { Intent, TransitionKind } from '../protocol/vault/intent.ts';
import {
  Certificate,
  CertifiedState,
  type RecordState,
  RecordStatus,
  type Signature,
} from '../protocol/vault/record.ts';
import { RefusalReason } from '../protocol/vault/responses.ts';
import type { RecordStore, StoredSlot } from '../stores/record/record-store.ts';
import { endorsementVerifies, type FleetKeys } from './endorsement-check.ts';
import type { EndorsementPeer } from './peer.ts';

/** Rounds a request may lose to other writers (CAS races) before it answers "unavailable". */
const MAX_ROUNDS = 64;
/** Records whose last committed slot a host remembers (to skip one read on the next request). */
const COMMITTED_HERE_LIMIT = 10_000;

/**
 * Intents whose completion after a failed-closed answer would cost the user something (a guess
 * with no password test, a registration or deletion the client was told failed): written only
 * when a quorum of nodes is reachable. A refund pending after an outage completes in the user's
 * favour, and a lock is what any host may do at any time, so neither waits for a probe.
 */
const PROBED_KINDS = new Set([
  TransitionKind.spend,
  TransitionKind.create,
  TransitionKind.change,
  TransitionKind.delete,
]);
/** Client ops whose proposal may be one of PROBED_KINDS: their probe starts with the request. */
const PROBED_OPS = new Set([VaultOp.loginStart, VaultOp.registerFinish, VaultOp.delete]);

/**
 * Where the coordinator reports what an operator must see (a lying node, a stale store), and, if
 * `info` is given, the records it locks or leaves unlocked on its own.
 */
export interface CoordinatorLog {
  warn(fields: Record<string, unknown>, message: string): void;
  info?(fields: Record<string, unknown>, message: string): void;
}

const stderrLine = (fields: Record<string, unknown>, message: string) =>
  process.stderr.write(`${message} ${JSON.stringify(fields)}\n`);
const stderrLog: CoordinatorLog = { warn: stderrLine, info: stderrLine };

/**
 * What one client request came to, as the host sees it (it cannot read sealed answers, so a wrong
 * password is "answered" too): `no-quorum`, the nodes could not be reached or did not endorse in
 * time; `refused`, the nodes refused the transition; `failed`, the store or a peer threw.
 */
export type RequestOutcome = 'answered' | 'unopenable' | 'no-quorum' | 'refused' | 'failed';

/** One handled client request, for logs and metrics: never a frame's bytes. */
export interface RequestEvent {
  /** The request's op, undefined when the frame did not decode. */
  readonly op: VaultOp | undefined;
  readonly recordId: Uint8Array | undefined;
  readonly outcome: RequestOutcome;
  /** Guesses spent by transitions this host committed while handling it. */
  readonly guessesSpent: number;
  readonly durationMs: number;
}

/** Told what the coordinator did (docs/OPERATIONS.md "Vault metrics"); each hook must not throw. */
export interface CoordinatorObserver {
  request(event: RequestEvent): void;
  /** A record this host locked (an exhausted one after its grace period, or on request). */
  recordLocked(): void;
}

/** Default of CoordinatorOptions.lockGraceMs. */
export const DEFAULT_LOCK_GRACE_MS = 5000;

export interface CoordinatorOptions {
  readonly store: RecordStore;
  /** Every node of the fleet (including this host's own). */
  readonly peers: readonly EndorsementPeer[];
  /** The core this host asks to propose transitions and to answer clients. */
  readonly own: EndorsementPeer;
  /** Membership and quorum (public facts, from the sealed config or fleet.pub): every endorsement is checked against them. */
  readonly fleet: FleetKeys;
  /** 'all' (default): ask every node at once. 'quorum-first': ask a quorum, the rest on failure. */
  readonly fanout?: 'all' | 'quorum-first';
  /** Default: one line on standard error per event. */
  readonly log?: CoordinatorLog;
  /** Told of every client request and lock (default: no one). */
  readonly observer?: CoordinatorObserver;
  /**
   * How long an exhausted record stays unlocked after this host first sees the spend that
   * exhausted it (default DEFAULT_LOCK_GRACE_MS): that guess's login may still be on its way (KE2
   * out, the device stretching the password, KE3 to come), and the right password on the last
   * guess must still work (docs/PROTOCOL.md §9 "Locking exhausted records").
   */
  readonly lockGraceMs?: number;
}

/**
 * What one request's handling did to the record, for the unsealed hint to ChatD
 * (docs/PROTOCOL.md §9d): guesses spent by transitions this host committed while handling it.
 */
export interface HostAnswer {
  /** The response frame to relay unchanged. */
  readonly frame: Uint8Array;
  readonly activity: VaultActivity;
}

export type CertifyResult =
  /** `answer`: the core's answer from `state`, when the caller asked for one alongside the commit. */
  | { kind: 'committed'; state: CertifiedState; answer?: CoreResponse }
  /**
   * Another writer moved the slot first. `answer`: the intent was certified all the same (only its
   * commit CAS was lost: another host completed it), and this is the core's answer from it.
   */
  | { kind: 'lost'; answer?: CoreResponse }
  /** More than N − quorum nodes refused it: it can never be certified (the intent was dropped). */
  | { kind: 'refused' }
  | { kind: 'unavailable' };

const unavailableFrame = () => serializeResponseFrame({ kind: 'error', code: ErrorCode.unavailable });

export class VaultCoordinator {
  /** Per-record queue inside this host: only a liveness aid; the store's CAS keeps hosts apart. */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Liveness probes in flight, shared by concurrent requests. */
  readonly #probes = new Map<EndorsementPeer, Promise<boolean>>();
  readonly #log: CoordinatorLog;
  /**
   * Exhausted records with a lock scheduled after their grace period, each with the version of the
   * spend that exhausted it (its ke1 paid at): one timer per exhausting spend.
   */
  readonly #scheduledLocks = new Map<string, bigint>();
  /** The slot this host last committed per record (docs/PROTOCOL.md §9 step 1): a read it may skip. */
  readonly #committedHere = new Map<string, StoredSlot>();

  constructor(private readonly options: CoordinatorOptions) {
    this.#log = options.log ?? stderrLog;
  }

  /** Handles one sealed client frame and returns the response frame to relay back. */
  async handle(frameBytes: Uint8Array): Promise<Uint8Array> {
    return (await this.exchange(frameBytes)).frame;
  }

  /** Handles one sealed client frame: the response frame, and what handling it did (§9d). */
  async exchange(frameBytes: Uint8Array): Promise<HostAnswer> {
    const started = performance.now();
    const activity: RequestActivity = { guessesSpent: 0 };
    const report = (frame: VaultRequestFrame | undefined, outcome: RequestOutcome) =>
      this.options.observer?.request({
        op: frame?.op,
        recordId: frame?.recordId,
        outcome,
        guessesSpent: activity.guessesSpent,
        durationMs: performance.now() - started,
      });
    let frame: VaultRequestFrame;
    try {
      frame = VaultRequestFrame.deserialize(frameBytes);
    } catch (error) {
      if (!(error instanceof MalformedFrameError)) throw error;
      report(undefined, 'unopenable');
      return { frame: serializeResponseFrame({ kind: 'error', code: ErrorCode.unopenable }), activity };
    }
    const response = await this.#serialized(frame.recordId, async () => {
      try {
        return await this.#handleFrame(frame, frameBytes, activity);
      } catch {
        // A store or peer failure: the client may retry; nothing was certified on its behalf here.
        activity.unavailable = 'failed';
        return unavailableFrame();
      }
    });
    const answered = deserializeResponseFrame(response).kind === 'sealed';
    report(frame, answered ? 'answered' : (activity.unavailable ?? 'failed'));
    return { frame: response, activity };
  }

  /**
   * Locks an active record at once, whatever its guesses (no evidence needed: it equals spending
   * every guess; an operator may always do it). The host's own locks of exhausted records wait for
   * their grace period instead (§9 "Locking exhausted records").
   */
  async lock(recordId: Uint8Array): Promise<CertifiedState | undefined> {
    return this.#serialized(recordId, () => this.#lock(recordId));
  }

  async #handleFrame(
    frame: VaultRequestFrame,
    frameBytes: Uint8Array,
    activity: RequestActivity,
  ): Promise<Uint8Array> {
    const recordId = frame.recordId;
    // Probed alongside reading the slot and proposing, so a live fleet pays no extra round trip.
    const quorumReachable = PROBED_OPS.has(frame.op) ? this.#quorumReachable() : undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      // The first round may start from what this host committed last: a proposal from it is
      // written by CAS on that slot's revision, so it is lost if another host wrote since. An
      // answer without a transition is given only from a fresh read (the next round).
      const remembered = round === 0 ? this.#takeCommittedHere(recordId) : undefined;
      const slot = remembered ?? (await this.#settled(recordId, activity));
      if (slot === 'unavailable') return unavailableFrame();
      const current = committedOf(slot);
      // Any request may find the record exhausted (after a restart, or on another host than the
      // one that certified the last spend): it starts the grace period that ends in a lock.
      if (current !== undefined) this.#lockWhenGraceEnds(current.state);
      const proposed = await this.#ask(this.options.own, {
        type: 'propose',
        action: ProposeAction.client,
        clientFrame: frameBytes,
        current,
      });
      if (remembered !== undefined && proposed.type !== 'proposal') continue;
      if (proposed.type === 'client-response') return proposed.frame;
      if (proposed.type === 'refused') {
        activity.unavailable = 'refused';
        return unavailableFrame();
      }
      if (proposed.type === 'proposal') {
        // Fail closed having written nothing: an intent left behind would be completed by the
        // next operation after the outage, spending a guess that bought no password test.
        if (PROBED_KINDS.has(proposed.intent.kind) && !(await (quorumReachable ?? this.#quorumReachable()))) {
          activity.unavailable = 'no-quorum';
          return unavailableFrame();
        }
        // The answer is computed while the commit is written: it depends only on the certified
        // state (which the cores check themselves), and it is relayed once the CAS has resolved.
        const result = await this.#certify(recordId, slot, proposed.intent, activity, (state) =>
          this.#ask(this.options.own, { type: 'answer', clientFrame: frameBytes, current: state }),
        );
        // A certified state stays certified whoever commits it (at most one per version): a spend
        // that was paid gets its KE2 even when another host committed it first, and later spends
        // cannot turn it into a paid guess with no password test.
        if (result.kind === 'lost' && result.answer?.type === 'client-response') return result.answer.frame;
        if (result.kind === 'lost') continue;
        // Refused or unavailable: no round can do better (a refused intent stays refused until
        // the store is repaired); the client may retry later.
        if (result.kind !== 'committed') return unavailableFrame();
        const answered = result.answer;
        return answered?.type === 'client-response' ? answered.frame : unavailableFrame();
      }
      const answered = await this.#ask(this.options.own, {
        type: 'answer',
        clientFrame: frameBytes,
        current,
      });
      return answered.type === 'client-response' ? answered.frame : unavailableFrame();
    }
    return unavailableFrame();
  }

  /**
   * Schedules the lock of `state`'s record if it is exhausted (active, no guess left), once per
   * exhausting spend. Hosts lock exhausted records promptly, but not at once (docs/PROTOCOL.md §9
   * "Locking exhausted records"): the KE1 that paid the last guess may still be waiting for its
   * KE2 or its refund, and the right password on the last guess must still work.
   */
  #lockWhenGraceEnds(state: RecordState): void {
    const paidAt = exhaustingSpend(state);
    if (paidAt === undefined) return;
    const key = toHex(state.recordId);
    if (this.#scheduledLocks.get(key) === paidAt) return;
    this.#scheduledLocks.set(key, paidAt);
    const recordId = state.recordId;
    const timer = setTimeout(() => {
      this.#serialized(recordId, () => this.#lockExhausted(recordId, paidAt))
        .catch((error: unknown) =>
          this.#log.warn(
            { event: 'lock-failed', record: key, error: String(error) },
            `could not lock exhausted record ${key}; the next request for it will try again`,
          ),
        )
        .finally(() => {
          // Kept until the attempt is over, so requests meanwhile schedule no second one.
          if (this.#scheduledLocks.get(key) === paidAt) this.#scheduledLocks.delete(key);
        });
    }, this.options.lockGraceMs ?? DEFAULT_LOCK_GRACE_MS);
    timer.unref(); // a pending lock must not keep a stopping host alive; the next host will lock it
  }

  /**
   * The host's own lock: only from a certified state that is still exhausted by the same spend
   * whose grace has ended. A refund certified meanwhile (the right password on the last guess)
   * leaves a guess, and the record is not locked; a later spend that exhausted it again gets its
   * own grace. The lock's intent is written by CAS over the very slot checked here, so a refund
   * that lands first makes it lose, and the next round sees the guess.
   */
  async #lockExhausted(recordId: Uint8Array, paidAt: bigint): Promise<void> {
    const record = toHex(recordId);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const slot = await this.#settled(recordId, { guessesSpent: 0 });
      if (slot === 'unavailable') throw new Error('no quorum or store to lock with');
      const current = committedOf(slot);
      const exhaustedBy = current === undefined ? undefined : exhaustingSpend(current.state);
      if (current === undefined || exhaustedBy === undefined) {
        this.#log.info?.(
          { event: 'lock-not-needed', record, version: current?.state.version.toString() },
          `record ${record} is no longer exhausted (refunded, changed, locked or deleted): not locked`,
        );
        return;
      }
      if (exhaustedBy !== paidAt) {
        this.#lockWhenGraceEnds(current.state); // exhausted again by a later spend: its own grace
        return;
      }
      const proposed = await this.#ask(this.options.own, {
        type: 'propose',
        action: ProposeAction.lock,
        clientFrame: new Uint8Array(0),
        current,
      });
      if (proposed.type !== 'proposal') return;
      const result = await this.#certify(recordId, slot, proposed.intent, { guessesSpent: 0 });
      if (result.kind === 'committed') {
        this.#log.info?.(
          { event: 'record-locked', record, version: result.state.state.version.toString() },
          `locked exhausted record ${record} at version ${result.state.state.version}: its key is erased`,
        );
        return;
      }
      if (result.kind !== 'lost') throw new Error(`the lock was ${result.kind}`);
    }
    throw new Error('the record kept changing');
  }

  async #lock(recordId: Uint8Array): Promise<CertifiedState | undefined> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const slot = await this.#settled(recordId, { guessesSpent: 0 });
      if (slot === 'unavailable') return undefined;
      const current = committedOf(slot);
      if (current === undefined || current.state.status !== RecordStatus.active) return current;
      const proposed = await this.#ask(this.options.own, {
        type: 'propose',
        action: ProposeAction.lock,
        clientFrame: new Uint8Array(0),
        current,
      });
      if (proposed.type !== 'proposal') return current;
      const result = await this.#certify(recordId, slot, proposed.intent, { guessesSpent: 0 });
      if (result.kind === 'committed') return result.state;
      if (result.kind !== 'lost') return undefined;
    }
    return undefined;
  }

  /** The slot with no pending intent left: finishes (or discards) one it finds first. */
  async #settled(
    recordId: Uint8Array,
    activity: RequestActivity,
  ): Promise<StoredSlot | undefined | 'unavailable'> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const slot = await this.options.store.get(recordId);
      if (slot?.intent === undefined) return slot;
      const intent = Intent.deserialize(slot.intent);
      const committed = committedOf(slot);
      const follows =
        intent.from === undefined
          ? committed === undefined
          : committed !== undefined && committed.state.version === intent.from.state.version;
      if (!follows) {
        await this.options.store.compareAndSet(recordId, slot.revision, {
          ...(slot.committed ? { committed: slot.committed } : {}),
        });
        continue;
      }
      const result = await this.#endorseAndCommit(recordId, slot, intent, activity);
      if (result.kind === 'unavailable') return 'unavailable';
      // Refused (dropped if it was still there) or lost: read again. The slot may already hold a
      // newer pending intent (the nodes refused this one because other hosts finished it and moved
      // on); it is finished like any other, never written over (docs/PROTOCOL.md §9 step 1).
    }
    return 'unavailable';
  }

  /**
   * Writes `intent` as the pending intent over `slot`, then certifies and commits it; `alongside`
   * (if given) runs on the certified state while the commit is written.
   */
  async #certify(
    recordId: Uint8Array,
    slot: StoredSlot | undefined,
    intent: Intent,
    activity: RequestActivity,
    alongside?: (state: CertifiedState) => Promise<CoreResponse>,
  ): Promise<CertifyResult> {
    const next = { ...(slot?.committed ? { committed: slot.committed } : {}), intent: intent.serialize() };
    const revision = await this.options.store.compareAndSet(recordId, slot?.revision, next);
    if (revision === undefined) return { kind: 'lost' };
    return this.#endorseAndCommit(recordId, { ...next, revision }, intent, activity, alongside);
  }

  /**
   * Asks the nodes to endorse (in parallel) and commits as soon as a quorum of valid endorsements
   * is in. With fanout 'quorum-first' only a quorum (this host's node first) is asked, and the
   * others only if some of those fail: the right choice when the cores share this host's CPU, as
   * in the embedded fleet. A spend counts in `activity` only if this host's commit CAS wins: one
   * host commits each version, so each spend is counted once in the fleet.
   */
  async #endorseAndCommit(
    recordId: Uint8Array,
    slot: StoredSlot,
    intent: Intent,
    activity: RequestActivity,
    alongside?: (state: CertifiedState) => Promise<CoreResponse>,
  ): Promise<CertifyResult> {
    const { peers, fleet, store } = this.options;
    const quorum = fleet.quorum;
    const request = serializeCoreRequest({ type: 'endorse', intent });
    const order = this.#asked();
    const first = this.options.fanout === 'quorum-first' ? order.slice(0, quorum) : order;
    const gathered: Gathered = { signatures: new Map(), refusals: [] };
    await this.#collect(first, request, intent, gathered);
    if (gathered.signatures.size < quorum && first.length < order.length)
      await this.#collect(order.slice(first.length), request, intent, gathered);
    if (gathered.signatures.size < quorum) {
      if (gathered.refusals.length > peers.length - quorum) {
        // This intent can never be certified: drop it so the record is not wedged, and say why.
        // "conflict" means the nodes already endorsed a later or different state: the store is
        // behind them (rolled back or forked) and `strongroom fleet repair` is the way forward.
        const reasons = gathered.refusals.map((reason) => RefusalReason[reason] ?? String(reason));
        this.#log.warn(
          {
            event: 'intent-refused',
            record: toHex(recordId),
            version: intent.to.version.toString(),
            transition: TransitionKind[intent.kind],
            reasons: reasons.join(','),
          },
          `the nodes refused the ${TransitionKind[intent.kind]} of record ${toHex(recordId)} at version ${intent.to.version} (${reasons.join(', ')}): it can never be certified`,
        );
        await store.compareAndSet(recordId, slot.revision, {
          ...(slot.committed ? { committed: slot.committed } : {}),
        });
        activity.unavailable = 'refused';
        return { kind: 'refused' };
      }
      activity.unavailable = 'no-quorum';
      return { kind: 'unavailable' };
    }
    const signatures = [...gathered.signatures.values()].slice(0, quorum);
    const certified = new CertifiedState(intent.to, new Certificate(signatures));
    const next = { committed: certified.serialize() };
    const [committed, answer] = await Promise.all([
      store.compareAndSet(recordId, slot.revision, next),
      alongside?.(certified),
    ]);
    if (committed === undefined) return { kind: 'lost', ...(answer === undefined ? {} : { answer }) };
    this.#rememberCommittedHere(recordId, { ...next, revision: committed });
    if (intent.kind === TransitionKind.spend) activity.guessesSpent++;
    if (intent.kind === TransitionKind.lock) this.options.observer?.recordLocked();
    this.#lockWhenGraceEnds(certified.state);
    return { kind: 'committed', state: certified, ...(answer === undefined ? {} : { answer }) };
  }

  /**
   * Sends `request` to `peers` in parallel and adds what they answer to `gathered`; resolves once a
   * quorum of valid endorsements is in or every peer has answered. An endorsement counts only if
   * it is the asking peer's own valid signature of exactly `intent.to` (docs/PROTOCOL.md §7: a
   * certificate is signatures of a quorum of distinct members); anything else is logged and counts
   * toward nothing — neither an endorsement nor a refusal.
   */
  #collect(
    peers: readonly EndorsementPeer[],
    request: Uint8Array,
    intent: Intent,
    gathered: Gathered,
  ): Promise<void> {
    const { fleet } = this.options;
    return new Promise((resolve) => {
      let pending = peers.length;
      if (pending === 0) resolve();
      for (const peer of peers) {
        peer
          .endorse(request)
          .then((bytes) => {
            const response = deserializeCoreResponse(bytes);
            if (response.type === 'refused') gathered.refusals.push(response.reason);
            else if (
              response.type === 'endorsement' &&
              response.nodeIndex === peer.nodeIndex &&
              // A core in this process answers through no wire and under no other name: its
              // signature is what the core made (every core checks the certificate again anyway).
              (peer.inProcess === true || endorsementVerifies(fleet, intent.to, response))
            )
              gathered.signatures.set(peer.nodeIndex, {
                nodeIndex: response.nodeIndex,
                signature: response.signature,
              });
            else this.#invalid(peer, intent);
          })
          .catch((error: unknown) => {
            // An unreachable node is a missing endorsement, not a refusal; an unreadable answer lies.
            if (error instanceof MalformedFrameError) this.#invalid(peer, intent);
          })
          .finally(() => {
            pending--;
            if (gathered.signatures.size >= fleet.quorum || pending === 0) resolve();
          });
      }
    });
  }

  /** Every node, this host's own first: the order endorsements are asked in. */
  #asked(): EndorsementPeer[] {
    const { peers, own } = this.options;
    return [own, ...peers.filter((peer) => peer !== own)];
  }

  #invalid(peer: EndorsementPeer, intent: Intent): void {
    const record = toHex(intent.to.recordId);
    this.#log.warn(
      { event: 'invalid-endorsement', node: peer.nodeIndex, record, version: intent.to.version.toString() },
      `node ${peer.nodeIndex} answered an invalid endorsement for record ${record} at version ${intent.to.version} (bad signature, replayed or in another node's name): it is lying or impersonated, and was not counted`,
    );
  }

  /** Whether at least a quorum of the nodes answers a liveness probe (resolves as soon as known). */
  #quorumReachable(): Promise<boolean> {
    const { peers, fleet } = this.options;
    return new Promise((resolve) => {
      if (peers.length < fleet.quorum) resolve(false);
      let up = 0;
      let down = 0;
      for (const peer of peers) {
        this.#probe(peer).then((reachable) => {
          if (reachable) up++;
          else down++;
          if (up >= fleet.quorum) resolve(true);
          else if (down > peers.length - fleet.quorum) resolve(false);
        });
      }
    });
  }

  #probe(peer: EndorsementPeer): Promise<boolean> {
    const inFlight = this.#probes.get(peer);
    if (inFlight !== undefined) return inFlight;
    const probe = peer
      .reachable()
      .catch(() => false)
      .finally(() => this.#probes.delete(peer));
    this.#probes.set(peer, probe);
    return probe;
  }

  #takeCommittedHere(recordId: Uint8Array): StoredSlot | undefined {
    const key = toHex(recordId);
    const slot = this.#committedHere.get(key);
    this.#committedHere.delete(key);
    return slot;
  }

  #rememberCommittedHere(recordId: Uint8Array, slot: StoredSlot): void {
    // Bounded: past the limit the oldest entry goes (its record simply costs a read next time).
    if (this.#committedHere.size >= COMMITTED_HERE_LIMIT) {
      const oldest = this.#committedHere.keys().next();
      if (oldest.done !== true) this.#committedHere.delete(oldest.value);
    }
    this.#committedHere.set(toHex(recordId), slot);
  }

  async #ask(peer: EndorsementPeer, request: CoreRequest): Promise<CoreResponse> {
    return deserializeCoreResponse(await peer.endorse(serializeCoreRequest(request)));
  }

  #serialized<T>(recordId: Uint8Array, work: () => Promise<T>): Promise<T> {
    const key = toHex(recordId);
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.#queues.set(key, tail);
    void tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }
}

/** What one request's handling did, counted as it goes (HostAnswer.activity). */
interface RequestActivity {
  guessesSpent: number;
  /** Why the request last failed to make progress, if it did (its outcome unless it was answered). */
  unavailable?: 'no-quorum' | 'refused' | 'failed';
}

/** The version of the spend that exhausted `state` (active, no guess left), or undefined. */
function exhaustingSpend(state: RecordState): bigint | undefined {
  if (state.status !== RecordStatus.active || state.guessesLeft !== 0) return undefined;
  // At zero guesses the last transition was a spend (refund, create and change leave at least
  // one guess), so the state carries its KE1 fields; the version stands in if it ever does not.
  return state.ke1PaidAt ?? state.version;
}

/** Valid endorsements by node index (so one node counts once), and the refusals' reasons. */
interface Gathered {
  readonly signatures: Map<number, Signature>;
  readonly refusals: RefusalReason[];
}

function committedOf(slot: StoredSlot | undefined): CertifiedState | undefined {
  return slot?.committed === undefined ? undefined : CertifiedState.deserialize(slot.committed);
}
