// A device's identity within its account (docs/PROTOCOL.md "ChatD: Handshake"): the user id and an
// Ed25519 key pair made on the device. The secret key never leaves the device; ChatD stores the
// public key when the device joins and checks a signature on every connection.
import { ed25519 } from '@noble/curves/ed25519.js';
import { authTranscript } from '../../protocol/chatd/handshake.ts';
import { checkUserId } from '../../protocol/chatd/message.ts';

export const DEVICE_SECRET_KEY_BYTES = 32;

export class DeviceIdentity {
  readonly userId: string;
  readonly publicKey: Uint8Array;
  readonly #secretKey: Uint8Array;

  /** `secretKey` is the 32-byte Ed25519 seed; the identity keeps its own copy. */
  constructor(userId: string, secretKey: Uint8Array) {
    this.userId = checkUserId('device identity', userId);
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== DEVICE_SECRET_KEY_BYTES) {
      throw new RangeError(`device secret key must be ${DEVICE_SECRET_KEY_BYTES} bytes`);
    }
    this.#secretKey = Uint8Array.from(secretKey);
    this.publicKey = ed25519.getPublicKey(this.#secretKey);
  }

  /** A fresh identity; `random` is injectable so tests are reproducible. */
  static generate(
    userId: string,
    random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
  ) {
    const secret = random(DEVICE_SECRET_KEY_BYTES);
    const identity = new DeviceIdentity(userId, secret);
    secret.fill(0);
    return identity;
  }

  /** The seed, for the device's own state file (src/cli); the caller zeroes its copy when done. */
  exportSecretKey(): Uint8Array {
    return Uint8Array.from(this.#secretKey);
  }

  /** Signs the handshake transcript for the server's `nonce` on this connection. */
  proveOnConnection(nonce: Uint8Array): Uint8Array {
    return ed25519.sign(authTranscript(nonce, this.userId, this.publicKey), this.#secretKey);
  }

  /** Ends the secret key's life in this object. */
  destroy(): void {
    this.#secretKey.fill(0);
  }

  toString(): string {
    return `DeviceIdentity(${this.userId}, (redacted))`;
  }
}
