// The server entry point (package.json "exports" ./server): ChatD and the embedded server.
export { type CodeSender, DevCodeSender, NO_CODE_SENDER } from '../chatd/code-sender.ts';
export { ChatdConfig } from '../chatd/config.ts';
export { type ChatdOptions, ChatdServer } from '../chatd/server.ts';
export { HttpVaultNode, type VaultNode } from '../chatd/vault-relay.ts';
export { EmbeddedServer, type EmbeddedServerOptions } from './embedded.ts';
