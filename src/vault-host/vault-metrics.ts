// What a vault node counts about its vault work (docs/OPERATIONS.md "Vault metrics"), next to the
// HTTP metrics of node-server.ts in the same registry: operations by op and outcome, guesses spent,
// locks, quorum failures, record store errors and peer errors. Counts and times only: no record
// id, no frame byte, no address.
import { Counter, Histogram, type Registry } from 'prom-client';
import { VaultOp } from '../protocol/vault/frames.ts';
import type { RecordStore } from '../stores/record/record-store.ts';
import type { CoordinatorObserver, RequestEvent } from './coordinator.ts';
import type { EndorsementPeer } from './peer.ts';

/** The op label: the op's name, or `unknown` for a frame that did not decode (bounded labels). */
export function opName(op: VaultOp | undefined): string {
  return op === undefined ? 'unknown' : VaultOp[op];
}

export class VaultMetrics implements CoordinatorObserver {
  readonly operations: Counter<'op' | 'outcome'>;
  readonly duration: Histogram<'op'>;
  readonly guessesSpent: Counter;
  readonly locks: Counter;
  readonly quorumFailures: Counter;
  readonly storeErrors: Counter<'call'>;
  readonly peerErrors: Counter<'node'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.operations = new Counter({
      name: 'strongroom_vault_operations_total',
      help: 'Client vault requests handled, by op and outcome',
      labelNames: ['op', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'strongroom_vault_operation_duration_seconds',
      help: 'Time to handle one client vault request, by op',
      labelNames: ['op'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.guessesSpent = new Counter({
      name: 'strongroom_vault_guesses_spent_total',
      help: 'Password guesses spent by transitions this node committed',
      registers,
    });
    this.locks = new Counter({
      name: 'strongroom_vault_records_locked_total',
      help: 'Records this node locked',
      registers,
    });
    this.quorumFailures = new Counter({
      name: 'strongroom_vault_quorum_failures_total',
      help: 'Client requests answered "unavailable" because no quorum of nodes endorsed or was reachable',
      registers,
    });
    this.storeErrors = new Counter({
      name: 'strongroom_vault_store_errors_total',
      help: 'Record store calls that failed, by call',
      labelNames: ['call'],
      registers,
    });
    this.peerErrors = new Counter({
      name: 'strongroom_vault_peer_errors_total',
      help: 'Requests to another node that failed (unreachable, timed out), by node index',
      labelNames: ['node'],
      registers,
    });
  }

  request(event: RequestEvent): void {
    const op = opName(event.op);
    this.operations.inc({ op, outcome: event.outcome });
    this.duration.observe({ op }, event.durationMs / 1000);
    if (event.guessesSpent > 0) this.guessesSpent.inc(event.guessesSpent);
    if (event.outcome === 'no-quorum') this.quorumFailures.inc();
  }

  recordLocked(): void {
    this.locks.inc();
  }

  /** `store`, counting each call that rejects (the error still reaches the caller). */
  countStoreErrors(store: RecordStore): RecordStore {
    const counted = <T>(call: string, work: Promise<T>): Promise<T> =>
      work.catch((error: unknown) => {
        this.storeErrors.inc({ call });
        throw error;
      });
    return {
      get: (recordId) => counted('get', store.get(recordId)),
      compareAndSet: (recordId, expected, next) =>
        counted('compareAndSet', store.compareAndSet(recordId, expected, next)),
      ids: () => store.ids(),
      ping: () => counted('ping', store.ping()),
      close: () => store.close(),
    };
  }

  /** `peer`, counting each endorse request that rejects (a refusal is an answer, not an error). */
  countPeerErrors(peer: EndorsementPeer): EndorsementPeer {
    const node = String(peer.nodeIndex);
    return {
      nodeIndex: peer.nodeIndex,
      ...(peer.inProcess === undefined ? {} : { inProcess: peer.inProcess }),
      reachable: () => peer.reachable(),
      endorse: (request) =>
        peer.endorse(request).catch((error: unknown) => {
          this.peerErrors.inc({ node });
          throw error;
        }),
    };
  }
}
