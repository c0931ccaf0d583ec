// The ChatD protocol between a device and ChatD (docs/PROTOCOL.md "15. ChatD protocol"): every message, its codec
// and the frame envelope.
export * from './account.ts';
export * from './backups.ts';
export * from './blobs.ts';
export * from './errors.ts';
export * from './frame.ts';
export * from './handshake.ts';
export * from './join.ts';
export * from './message.ts';
export * from './notification.ts';
export * from './record-id.ts';
export * from './vault-relay.ts';
export * from './wire.ts';
