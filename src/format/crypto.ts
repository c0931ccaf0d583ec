// The one crypto interface the backup stream format uses (docs/FORMAT.md §1 "Terminology"). The format
// code is pure; a WebCrypto implementation (./webcrypto.ts) runs in browsers and Node, and a
// node:crypto one (src/client/node/node-crypto.ts) is the fast path on Node.

/** AES-256-GCM under one key, 96-bit nonces and 128-bit tags (NIST SP 800-38D). */
export interface Aead {
  /**
   * Encrypts the concatenation of `plaintext` under `nonce`. Returns pieces whose concatenation is
   * ciphertext || tag. Chunks travel as lists of pieces so that a chunk read in pieces from a file
   * or socket is never copied into one large buffer (see docs/BENCHMARKS.md).
   */
  seal(nonce: Uint8Array, plaintext: readonly Uint8Array[]): Promise<Uint8Array[]>;
  /**
   * Opens the concatenation of `sealed` (ciphertext || tag). Returns the plaintext pieces, or null
   * when the tag does not verify; no plaintext is released before the tag has verified.
   */
  open(nonce: Uint8Array, sealed: readonly Uint8Array[]): Promise<Uint8Array[] | null>;
  /** Forgets the key (zeroes the copies it holds) once the stream is done; optional. */
  destroy?(): void;
  /**
   * How many chunks the stream should keep in flight: more than 2 only pays for an Aead that runs
   * several at once (worker threads); each costs two chunks of memory. 2 when absent.
   */
  readonly inFlight?: number;
}

export interface FormatCrypto {
  /** Cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array;
  /** HKDF-SHA256 (RFC 5869) of `ikm` with `salt` and the ASCII label `info`, `length` bytes. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Promise<Uint8Array>;
  /** HMAC-SHA256 (RFC 2104) of `data` under `key`. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** SHA-256 of `data` (used for payload hashes in test vectors and archive checks). */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /** An AES-256-GCM instance keyed with the 32-byte `key` (the caller may zero `key` afterwards). */
  aes256Gcm(key: Uint8Array): Promise<Aead>;
}

/** Compares two byte strings in time that depends only on their lengths (for MACs and check values). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** The concatenation of `pieces` (one copy). */
export function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
