// The HSM core's platform: everything the core touches outside its own memory arrives through this
// interface (docs/ARCHITECTURE.md "Components and trust"; juicebox hsm_core/src/hal.rs). The core imports no node: module.
// Owner: the vault engineer (docs/PROTOCOL.md §8); implemented by src/hsm-platform.
import type { CipherSuite } from '@hpke/core';

/**
 * The fleet's secret keys as the core can use them. Implementations: the PKCS#11 token
 * (src/vault-host/keystore/pkcs11.ts, record sealing is a token operation, CKM_AES_GCM) and the
 * software keystore (files; the embedded default, loudly not an HSM).
 */
export interface KeyStore {
  /** What kind of keystore this is, for logs and `status`: never secret. */
  readonly description: string;
  /** AEAD-seal under the fleet's record-sealing key. Output is self-contained (nonce || ct || tag). */
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Opens what `seal` made with the same aad; throws if it does not authenticate. */
  open(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /**
   * A secret the token cannot use directly (OPAQUE server setup, HPKE private key, this node's
   * Ed25519 endorsement private key), unwrapped by a token key and handed only to the core.
   * Formats: 'opaque-server-setup' = UTF-8 bytes of @serenity-kit/opaque's serverSetup string;
   * 'hpke-private-key' = 32-byte X25519 private key; 'endorsement-private-key' = 32-byte Ed25519
   * seed. Each call returns a fresh copy the core owns (and zeroes when it stops).
   */
  secret(name: CoreSecretName): Promise<Uint8Array>;
}

export type CoreSecretName = 'opaque-server-setup' | 'hpke-private-key' | 'endorsement-private-key';

/**
 * The core's own small durable state (a real HSM's NVRAM). Here a local file per node
 * (src/hsm-platform/nvram.ts). Marks live under the documented key prefix `"mark/"`
 * (NODE_MARK_PREFIX in src/protocol/vault/record.ts).
 */
export interface Nvram {
  /** The latest value put under `key`, whether or not it is durable yet. */
  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * Stores `value` under `key`. It is visible to get() as soon as put returns its promise (the
   * core reads and writes a mark with no await in between, so two concurrent endorsements cannot
   * both pass the mark check); the promise resolves once the value is durable, and the core lets
   * no signature leave before that. Concurrent puts may share one durable write (group commit).
   */
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  /** The entries whose key starts with `prefix`, in key order (disaster recovery, `fleet repair`). */
  entries(prefix: Uint8Array): Iterable<[Uint8Array, Uint8Array]>;
}

/** Primitives the core needs and the runtime provides fast (node:crypto on a host, WebCrypto elsewhere). */
export interface CorePrimitives {
  randomBytes(length: number): Uint8Array;
  sha256(...parts: Uint8Array[]): Uint8Array;
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  ed25519Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  aes256GcmSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Throws if the tag does not verify. */
  aes256GcmOpen(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array;
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}

export interface Platform {
  readonly crypto: CorePrimitives;
  /**
   * The HPKE suite opening client requests: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
   * (docs/PROTOCOL.md §5). Any @hpke/core CipherSuite with those ids works; hosts pass the fast
   * node:crypto one from src/hsm-platform, which is checked against RFC 9180's vectors.
   */
  readonly hpke: CipherSuite;
  readonly keystore: KeyStore;
  readonly nvram: Nvram;
}
