// Public surface of the vault client (docs/PROTOCOL.md "Client"): browser-safe, no node: imports.
export {
  LockedError,
  NoRecordError,
  TamperingError,
  UnavailableError,
  WrongPasswordError,
} from '../../errors.ts';
export { FleetPublicInfo } from '../../protocol/fleet.ts';
export { RecordStatus } from '../../protocol/vault/record.ts';
export type { RecordSummary } from '../../protocol/vault/responses.ts';
export {
  type Argon2idParameters,
  DEFAULT_ARGON2ID,
  type RecoveryResult,
  VaultClient,
  type VaultClientOptions,
} from './client.ts';
export { HttpVaultTransport } from './http-transport.ts';
export { InMemoryRecordMemory, type RecordMemory, type RememberedRecord } from './memory.ts';
export type { VaultTransport } from './transport.ts';
