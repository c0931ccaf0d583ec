// `strongroom/client/chatd`, the device side of ChatD (docs/API.md "strongroom/client/chatd";
// docs/PROTOCOL.md "15. ChatD protocol"): connect and authenticate a device, join an account, keep the backup list,
// relay vault traffic and blobs. Browser-safe; Node 20 has no global WebSocket, so Node callers
// pass `openNodeSocket` from `strongroom/client/node`.
export type { AccountInfo } from '../../protocol/chatd/account.ts';
export { BackupEntry } from '../../protocol/chatd/backups.ts';
export { DeviceState } from '../../protocol/chatd/handshake.ts';
export type { JoinCodeSent } from '../../protocol/chatd/join.ts';
export { type Notification, NotificationKind } from '../../protocol/chatd/notification.ts';
export { recordIdFor } from '../../protocol/chatd/record-id.ts';
export { ChatdBlobStore } from './blob-store.ts';
export { ChatdClient, type ConnectOptions } from './client.ts';
export { ChatdQuotaError, ChatdRequestError } from './errors.ts';
export { DeviceIdentity } from './identity.ts';
export {
  ChatdRetentionAccount,
  registerSnapshot,
  snapshotIdOfEntry,
  unregisterSnapshot,
} from './snapshot-entries.ts';
export type { FrameSocket, SocketOpener } from './socket.ts';
export { ChatdVaultTransport } from './vault-transport.ts';
