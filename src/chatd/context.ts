// What every ChatD connection shares (docs/CHATD.md): storage, limits, the relay, the notifier, and
// the defaults an operator can override.
import type { Logger } from 'pino';
import type { AccountStore } from './account-store.ts';
import type { BlobStorage } from './blob-storage.ts';
import type { CodeSender } from './code-sender.ts';
import type { JoinCodes } from './join-codes.ts';
import type { Notifier } from './notifier.ts';
import type { BucketSpec } from './rate-limit.ts';
import type { VaultRelay } from './vault-relay.ts';

/** Token buckets per key (docs/CHATD.md "Rate limits" gives the reasoning for each default). */
export interface RateLimits {
  /** Vault frames per account: 30 at once, then one every 2 s. */
  readonly vaultPerAccount: BucketSpec;
  /** Vault frames per client address: 120 at once, then 2 per second. */
  readonly vaultPerAddress: BucketSpec;
  /** Join codes sent per user id: 3 at once, then one every 10 minutes. */
  readonly joinCodesPerUser: BucketSpec;
  /** Join codes requested per client address: 10 at once, then one a minute. */
  readonly joinCodesPerAddress: BucketSpec;
  /** New connections per client address: 60 at once, then 5 per second. */
  readonly connectionsPerAddress: BucketSpec;
}

/**
 * Takes a token for a key: 0 when allowed, else milliseconds until one is due. In-process
 * (RateLimiter) or shared by every ChatD of the account store (docs/CHATD.md "Rate limits").
 */
export interface TokenBuckets {
  take(key: string): number | Promise<number>;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  vaultPerAccount: { capacity: 30, perSecond: 0.5 },
  vaultPerAddress: { capacity: 120, perSecond: 2 },
  joinCodesPerUser: { capacity: 3, perSecond: 1 / 600 },
  joinCodesPerAddress: { capacity: 10, perSecond: 1 / 60 },
  connectionsPerAddress: { capacity: 60, perSecond: 5 },
};

/** Blob storage per account, in bytes (1 GiB). */
export const DEFAULT_QUOTA_BYTES = 1024 ** 3;
/** A pending device with no decision is approved after this long (7 days): see docs/CHATD.md "Approval". */
export const DEFAULT_APPROVAL_WAIT_MS = 7 * 24 * 3600_000;
/** A connection must finish Hello/Proof within this time. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Where a captured byte string was seen (tests check ChatD learns nothing; see server.ts). */
export type CaptureChannel = 'device-in' | 'device-out' | 'vault-out' | 'vault-in';

export interface ChatdContext {
  readonly store: AccountStore;
  readonly joinCodes: JoinCodes;
  readonly codeSender: CodeSender;
  readonly relay: VaultRelay;
  readonly blobs: BlobStorage;
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** Fleets whose frames this ChatD relays (fleet ids, 16 bytes each). */
  readonly fleetIds: readonly Uint8Array[];
  readonly approvalWaitMs: number;
  readonly handshakeTimeoutMs: number;
  readonly limiters: { readonly [K in keyof RateLimits]: TokenBuckets };
  readonly capture?: (channel: CaptureChannel, bytes: Uint8Array) => void;
  readonly now: () => number;
}
