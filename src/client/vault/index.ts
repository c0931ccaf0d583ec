// `strongroom/client/vault`, the vault client (docs/API.md "strongroom/client/vault";
// docs/PROTOCOL.md §10 "Flows"): browser-safe, no node: imports. It is its own entry point because it
// loads OPAQUE, most of a browser bundle, which an app that only encrypts and decrypts never needs.
export {
  LockedError,
  NoRecordError,
  TamperingError,
  UnavailableError,
  WrongPasswordError,
} from '../../errors.ts';
export { FleetPublicInfo } from '../../protocol/fleet.ts';
export {
  type Argon2idParameters,
  type RecoveryResult,
  VaultClient,
  type VaultClientOptions,
  type VaultRecordState,
  type VaultRecordStatus,
} from './client.ts';
export { HttpVaultTransport } from './http-transport.ts';
export type { RecordMemory, RememberedRecord } from './memory.ts';
export type { VaultTransport } from './transport.ts';
