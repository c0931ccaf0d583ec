// The device side of ChatD (docs/PROTOCOL.md §15): client, identity, vault transport, blob store.
export { ChatdBlobStore } from './blob-store.ts';
export { ChatdClient, type ConnectOptions } from './client.ts';
export { ChatdRequestError } from './errors.ts';
export { DeviceIdentity } from './identity.ts';
export { type FrameSocket, openGlobalSocket, type SocketOpener } from './socket.ts';
export { ChatdVaultTransport } from './vault-transport.ts';
