// How the untrusted vault host reaches a node's core (docs/PROTOCOL.md "Host and core"). The bytes
// are the encoded CoreRequest / CoreResponse of src/protocol/vault/core-rpc.ts: a peer carries them
// unchanged, so an in-process core, another node process over HTTP, or an HSM driver all fit.

/** One node's core as the coordinator sees it. */
export interface EndorsementPeer {
  /**
   * The node's index in the fleet config. The coordinator counts an endorsement from this peer only
   * if it is this node's valid signature (a peer answering in another node's name is lying).
   */
  readonly nodeIndex: number;
  /**
   * True only for a core running in this very process (src/vault-host/core-adapter.ts), and for
   * wrappers around one: its answers cross no wire and come under no other name.
   */
  readonly inProcess?: boolean;
  /**
   * Sends one encoded CoreRequest (propose, endorse or answer) and returns the encoded
   * CoreResponse. Rejects when the node cannot be reached; the coordinator treats that as a
   * missing endorsement, never as a refusal.
   */
  endorse(request: Uint8Array): Promise<Uint8Array>;
  /**
   * A cheap liveness probe (no core work): whether the node answers at all right now. Never
   * rejects. The coordinator asks before it writes an intent for a client request, so that without
   * a reachable quorum it answers "unavailable" having written nothing (docs/PROTOCOL.md
   * "Coordinator", step 3).
   */
  reachable(): Promise<boolean>;
}
