// The untrusted coordinator (DESIGN section 4 "Liveness"; docs/PROTOCOL.md "Coordinator"): relays a
// sealed client frame to the cores, and for every transition writes the pending intent (CAS),
// gathers endorsements in parallel until a quorum, then commits state + certificate (CAS). It
// finishes any pending intent it finds first. Nothing here is trusted: the cores check everything.
import { MalformedFrameError } from '../protocol/vault/bytes.ts';
import {
  type CoreRequest,
  type CoreResponse,
  deserializeCoreResponse,
  ProposeAction,
  serializeCoreRequest,
} from '../protocol/vault/core-rpc.ts';
import { ErrorCode, serializeResponseFrame, VaultOp, VaultRequestFrame } from '../protocol/vault/frames.ts';
import { Intent } from '../protocol/vault/intent.ts';
import { Certificate, CertifiedState, RecordStatus, type Signature } from '../protocol/vault/record.ts';
import type { RecordStore, StoredSlot } from '../stores/record/record-store.ts';
import type { EndorsementPeer } from './peer.ts';

/** Rounds a request may lose to other writers before it answers "unavailable". */
const MAX_ROUNDS = 64;
/** Refused intents a request tolerates (honest races) before it answers "unavailable". */
const MAX_REFUSALS = 3;

export interface CoordinatorOptions {
  readonly store: RecordStore;
  /** Every node of the fleet (including this host's own). */
  readonly peers: readonly EndorsementPeer[];
  /** The core this host asks to propose transitions and to answer clients. */
  readonly own: EndorsementPeer;
  readonly quorum: number;
  /** 'all' (default): ask every node at once. 'quorum-first': ask a quorum, the rest on failure. */
  readonly fanout?: 'all' | 'quorum-first';
}

export type CertifyResult =
  | { kind: 'committed'; state: CertifiedState }
  | { kind: 'lost' }
  /** The nodes refused it (the intent was dropped): the store is behind them, or a host lied. */
  | { kind: 'refused' }
  | { kind: 'unavailable' };

const unavailableFrame = () => serializeResponseFrame({ kind: 'error', code: ErrorCode.unavailable });

export class VaultCoordinator {
  /** Per-record queue inside this host: only a liveness aid; the store's CAS keeps hosts apart. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: CoordinatorOptions) {}

  /** Handles one sealed client frame and returns the response frame to relay back. */
  async handle(frameBytes: Uint8Array): Promise<Uint8Array> {
    let frame: VaultRequestFrame;
    try {
      frame = VaultRequestFrame.deserialize(frameBytes);
    } catch (error) {
      if (error instanceof MalformedFrameError)
        return serializeResponseFrame({ kind: 'error', code: ErrorCode.unopenable });
      throw error;
    }
    return this.#serialized(frame.recordId, async () => {
      try {
        return await this.#handleFrame(frame, frameBytes);
      } catch {
        // A store or peer failure: the client may retry; nothing was certified on its behalf here.
        return unavailableFrame();
      }
    });
  }

  /** Locks an active record (no evidence needed: it equals spending every guess). */
  async lock(recordId: Uint8Array): Promise<CertifiedState | undefined> {
    return this.#serialized(recordId, () => this.#lock(recordId));
  }

  async #handleFrame(frame: VaultRequestFrame, frameBytes: Uint8Array): Promise<Uint8Array> {
    const recordId = frame.recordId;
    let refusals = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const slot = await this.#settled(recordId);
      if (slot === 'unavailable') return unavailableFrame();
      let current = committedOf(slot);
      const proposed = await this.#ask(this.options.own, {
        type: 'propose',
        action: ProposeAction.client,
        clientFrame: frameBytes,
        current,
      });
      if (proposed.type === 'client-response') return proposed.frame;
      if (proposed.type === 'refused') return unavailableFrame();
      if (proposed.type === 'proposal') {
        const result = await this.#certify(recordId, slot, proposed.intent);
        if (result.kind === 'lost') continue;
        // Refused: the committed state is behind the nodes' marks (a rolled-back store needs
        // `fleet repair`); retrying cannot help beyond a race or two.
        if (result.kind === 'refused' && ++refusals < MAX_REFUSALS) continue;
        if (result.kind !== 'committed') return unavailableFrame();
        current = result.state;
      } else if (
        frame.op === VaultOp.loginStart &&
        current?.state.status === RecordStatus.active &&
        current.state.guessesLeft === 0
      ) {
        // Hosts lock exhausted records promptly (DESIGN section 3 "Lockout"); a KE1 arriving at
        // zero guesses pays nothing, so the record is locked before the core answers it.
        const lockedState = await this.#lock(recordId);
        if (lockedState !== undefined) current = lockedState;
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

  async #lock(recordId: Uint8Array): Promise<CertifiedState | undefined> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const slot = await this.#settled(recordId);
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
      const result = await this.#certify(recordId, slot, proposed.intent);
      if (result.kind === 'committed') return result.state;
      if (result.kind !== 'lost') return undefined;
    }
    return undefined;
  }

  /** The slot with no pending intent left: finishes (or discards) one it finds first. */
  async #settled(recordId: Uint8Array): Promise<StoredSlot | undefined | 'unavailable'> {
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
      const result = await this.#endorseAndCommit(recordId, slot, intent);
      if (result.kind === 'unavailable') return 'unavailable';
      if (result.kind === 'refused') return this.options.store.get(recordId); // dropped: go on
    }
    return 'unavailable';
  }

  /** Writes `intent` as the pending intent over `slot`, then certifies and commits it. */
  async #certify(recordId: Uint8Array, slot: StoredSlot | undefined, intent: Intent): Promise<CertifyResult> {
    const written = await this.options.store.compareAndSet(recordId, slot?.revision, {
      ...(slot?.committed ? { committed: slot.committed } : {}),
      intent: intent.serialize(),
    });
    if (!written) return { kind: 'lost' };
    const withIntent = await this.options.store.get(recordId);
    if (withIntent === undefined) return { kind: 'lost' };
    return this.#endorseAndCommit(recordId, withIntent, intent);
  }

  /**
   * Asks the nodes to endorse (in parallel) and commits as soon as a quorum signed. With fanout
   * 'quorum-first' only a quorum (this host's node first) is asked, and the others only if some of
   * those fail: the right choice when the cores share this host's CPU, as in the embedded fleet.
   */
  async #endorseAndCommit(recordId: Uint8Array, slot: StoredSlot, intent: Intent): Promise<CertifyResult> {
    const { peers, quorum, store, own } = this.options;
    const request = serializeCoreRequest({ type: 'endorse', intent });
    const order = [own, ...peers.filter((peer) => peer !== own)];
    const first = this.options.fanout === 'quorum-first' ? order.slice(0, quorum) : order;
    const gathered = await collect(first, request, quorum);
    if (gathered.signatures.length < quorum && first.length < order.length) {
      const more = await collect(order.slice(first.length), request, quorum - gathered.signatures.length);
      gathered.signatures.push(...more.signatures);
      gathered.refused += more.refused;
    }
    if (gathered.signatures.length < quorum) {
      if (gathered.refused > peers.length - quorum) {
        // This intent can never be certified (the nodes refused it): drop it so the record is not wedged.
        await store.compareAndSet(recordId, slot.revision, {
          ...(slot.committed ? { committed: slot.committed } : {}),
        });
        return { kind: 'lost' };
      }
      return { kind: 'unavailable' };
    }
    const certified = new CertifiedState(intent.to, new Certificate(gathered.signatures.slice(0, quorum)));
    const committed = await store.compareAndSet(recordId, slot.revision, {
      committed: certified.serialize(),
    });
    return committed ? { kind: 'committed', state: certified } : { kind: 'lost' };
  }

  async #ask(peer: EndorsementPeer, request: CoreRequest): Promise<CoreResponse> {
    return deserializeCoreResponse(await peer.endorse(serializeCoreRequest(request)));
  }

  #serialized<T>(recordId: Uint8Array, work: () => Promise<T>): Promise<T> {
    const key = Array.from(recordId, (b) => b.toString(16).padStart(2, '0')).join('');
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

/** Sends `request` to `peers` in parallel; resolves once `need` endorsed or all have answered. */
function collect(
  peers: readonly EndorsementPeer[],
  request: Uint8Array,
  need: number,
): Promise<{ signatures: Signature[]; refused: number }> {
  return new Promise((resolve) => {
    const signatures: Signature[] = [];
    let refused = 0;
    let pending = peers.length;
    if (pending === 0) resolve({ signatures, refused });
    for (const peer of peers) {
      peer
        .endorse(request)
        .then((bytes) => {
          const response = deserializeCoreResponse(bytes);
          if (response.type === 'endorsement')
            signatures.push({ nodeIndex: response.nodeIndex, signature: response.signature });
          else refused++;
        })
        .catch(() => undefined) // an unreachable node is a missing endorsement, not a refusal
        .finally(() => {
          pending--;
          if (signatures.length >= need || pending === 0) resolve({ signatures: [...signatures], refused });
        });
    }
  });
}

function committedOf(slot: StoredSlot | undefined): CertifiedState | undefined {
  return slot?.committed === undefined ? undefined : CertifiedState.deserialize(slot.committed);
}
