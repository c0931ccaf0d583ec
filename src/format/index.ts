// The backup stream format (docs/FORMAT.md): pure code, no Node-only API; crypto comes in through
// FormatCrypto (./webcrypto.ts in browsers, src/client/node/node-crypto.ts on Node).
export { type Aead, constantTimeEqual, type FormatCrypto } from './crypto.ts';
export { deriveMetadataKey, LABEL_HEADER, LABEL_KEY_CHECK, LABEL_METADATA, LABEL_STREAM } from './derive.ts';
export { DEFAULT_CHUNK_SIZE, HEADER_LENGTH, Header, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from './header.ts';
export { BackupKey, KEY_LENGTH } from './key.ts';
export { chunkNonce, decryptStream, type EncryptOptions, encryptStream, TAG_LENGTH } from './stream.ts';
export { webCrypto } from './webcrypto.ts';
