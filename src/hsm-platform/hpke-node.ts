// HPKE (RFC 9180) building blocks over node:crypto that plug into @hpke/core's CipherSuite:
// DHKEM(X25519, HKDF-SHA256) (sections 4.1 and 7.1), HKDF-SHA256 with HPKE's labels (section 4), and
// AES-GCM (section 7.3). @hpke/core's own suite makes a dozen awaited WebCrypto calls per context
// (about 1.2 ms to open one request here); these do the same arithmetic with synchronous native calls,
// and keep the library's key schedule, contexts and error types. Checked against RFC 9180 A.1.1
// (test/vectors/hpke/) and against the library's default suite in both directions.
//
// Only base and PSK modes: the vault never authenticates the sender with a KEM key (auth modes throw).

import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import {
  type AeadEncryptionContext,
  AeadId,
  type AeadInterface,
  CipherSuite,
  DecapError,
  DeserializeError,
  EncapError,
  KdfId,
  type KdfInterface,
  KemId,
  type KemInterface,
  NotSupportedError,
  OpenError,
  type RecipientContextParams,
  type SenderContextParams,
  SerializeError,
} from '@hpke/core';
import { concat } from '../protocol/vault/bytes.ts';

type Bytes = ArrayBufferLike | ArrayBufferView;

const HPKE_VERSION = new TextEncoder().encode('HPKE-v1');
const SHA256_LENGTH = 32;
const X25519_LENGTH = 32;
/** PKCS#8 DER header of an X25519 private key; the 32 raw bytes follow (RFC 8410 section 7). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const label = (text: string) => new TextEncoder().encode(text);
const LABEL_DKP_PRK = label('dkp_prk');
const LABEL_SK = label('sk');
const LABEL_EAE_PRK = label('eae_prk');
const LABEL_SHARED_SECRET = label('shared_secret');

/** A view of any byte input the library hands over, without copying. */
function view(input: Bytes): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return new Uint8Array(input);
}

/** A fresh ArrayBuffer holding exactly `bytes` (Buffers may sit inside a shared pool). */
function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return Uint8Array.from(bytes).buffer;
}

/** HKDF-SHA256 (RFC 5869) with HPKE's LabeledExtract/LabeledExpand (RFC 9180 section 4). */
export class NodeHkdfSha256 implements KdfInterface {
  readonly id = KdfId.HkdfSha256;
  readonly hashSize = SHA256_LENGTH;
  private suiteId: Uint8Array | undefined;

  init(suiteId: Uint8Array): void {
    this.suiteId = Uint8Array.from(suiteId);
  }

  private suite(): Uint8Array {
    if (this.suiteId === undefined) throw new Error('HKDF used before init(suiteId)');
    return this.suiteId;
  }

  /** "HPKE-v1" || suite_id || label || ikm */
  buildLabeledIkm(label: Uint8Array, ikm: Uint8Array): Uint8Array {
    return concat(HPKE_VERSION, this.suite(), label, ikm);
  }

  /** I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info */
  buildLabeledInfo(label: Uint8Array, info: Uint8Array, len: number): Uint8Array {
    return concat(Uint8Array.of(len >> 8, len & 0xff), HPKE_VERSION, this.suite(), label, info);
  }

  /** HMAC-SHA256(salt, ikm); an empty salt means HashLen zero bytes (RFC 5869 section 2.2). */
  extractSync(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
    const key = salt.length === 0 ? new Uint8Array(SHA256_LENGTH) : salt;
    return new Uint8Array(createHmac('sha256', key).update(ikm).digest());
  }

  expandSync(prk: Uint8Array, info: Uint8Array, len: number): Uint8Array {
    if (len > 255 * SHA256_LENGTH) throw new RangeError('HKDF-Expand: output longer than 255 blocks');
    const okm = new Uint8Array(len);
    let block = new Uint8Array(0);
    for (let offset = 0, counter = 1; offset < len; counter++) {
      block = new Uint8Array(
        createHmac('sha256', prk).update(block).update(info).update(Uint8Array.of(counter)).digest(),
      );
      okm.set(block.subarray(0, Math.min(block.length, len - offset)), offset);
      offset += block.length;
    }
    return okm;
  }

  labeledExtractSync(salt: Uint8Array, label: Uint8Array, ikm: Uint8Array): Uint8Array {
    return this.extractSync(salt, this.buildLabeledIkm(label, ikm));
  }

  labeledExpandSync(prk: Uint8Array, label: Uint8Array, info: Uint8Array, len: number): Uint8Array {
    return this.expandSync(prk, this.buildLabeledInfo(label, info, len), len);
  }

  async extract(salt: Bytes, ikm: Bytes): Promise<ArrayBuffer> {
    return arrayBuffer(this.extractSync(view(salt), view(ikm)));
  }

  async expand(prk: Bytes, info: Bytes, len: number): Promise<ArrayBuffer> {
    return arrayBuffer(this.expandSync(view(prk), view(info), len));
  }

  async extractAndExpand(salt: Bytes, ikm: Bytes, info: Bytes, len: number): Promise<ArrayBuffer> {
    return arrayBuffer(this.expandSync(this.extractSync(view(salt), view(ikm)), view(info), len));
  }

  async labeledExtract(salt: Bytes, label: Uint8Array, ikm: Uint8Array): Promise<ArrayBuffer> {
    return arrayBuffer(this.labeledExtractSync(view(salt), label, ikm));
  }

  async labeledExpand(prk: Bytes, label: Uint8Array, info: Uint8Array, len: number): Promise<ArrayBuffer> {
    return arrayBuffer(this.labeledExpandSync(view(prk), label, info, len));
  }
}

/**
 * An X25519 key as this KEM holds it: a node:crypto KeyObject plus the serialized public key, so a
 * private key kept across requests never re-derives its public half (pkRm is in every kem_context).
 * It stands in for the CryptoKey type the library's interfaces name; it prints as "(redacted)".
 */
export class NodeX25519Key implements CryptoKey {
  readonly algorithm: KeyAlgorithm = { name: 'X25519' };
  readonly extractable = true;
  readonly usages: KeyUsage[];

  constructor(
    readonly type: 'public' | 'private',
    readonly keyObject: KeyObject,
    /** SerializePublicKey of this key, or of the private key's public half. */
    readonly publicBytes: Uint8Array,
  ) {
    this.usages = type === 'private' ? ['deriveBits'] : [];
  }

  toJSON(): string {
    return '(redacted)';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `NodeX25519Key(${this.type}, (redacted))`;
  }
}

function ownKey(key: CryptoKey, type: 'public' | 'private'): NodeX25519Key {
  if (!(key instanceof NodeX25519Key) || key.type !== type) {
    throw new SerializeError(`expected a ${type} key made by NodeDhkemX25519HkdfSha256`);
  }
  return key;
}

function publicKeyFromBytes(bytes: Uint8Array): NodeX25519Key {
  if (bytes.length !== X25519_LENGTH) throw new DeserializeError('X25519 public key must be 32 bytes');
  const keyObject = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(bytes).toString('base64url') },
    format: 'jwk',
  });
  return new NodeX25519Key('public', keyObject, Uint8Array.from(bytes));
}

function privateKeyFromBytes(bytes: Uint8Array): NodeX25519Key {
  if (bytes.length !== X25519_LENGTH) throw new DeserializeError('X25519 private key must be 32 bytes');
  const der = Buffer.concat([X25519_PKCS8_PREFIX, bytes]);
  try {
    const keyObject = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return new NodeX25519Key('private', keyObject, rawPublic(createPublicKey(keyObject)));
  } finally {
    der.fill(0);
  }
}

function rawPublic(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url'));
}

/** X25519 with RFC 9180 section 7.1.4's check: an all-zero shared value aborts. */
function dh(privateKey: NodeX25519Key, publicKey: NodeX25519Key): Uint8Array {
  const shared = new Uint8Array(
    diffieHellman({ privateKey: privateKey.keyObject, publicKey: publicKey.keyObject }),
  );
  if (shared.every((byte) => byte === 0)) throw new Error('X25519 produced the all-zero value');
  return shared;
}

const isKeyPair = (value: unknown): value is CryptoKeyPair =>
  typeof value === 'object' && value !== null && 'privateKey' in value && 'publicKey' in value;

/** DHKEM(X25519, HKDF-SHA256), RFC 9180 section 4.1, base and PSK modes. */
export class NodeDhkemX25519HkdfSha256 implements KemInterface {
  readonly id = KemId.DhkemX25519HkdfSha256;
  readonly secretSize = 32;
  readonly encSize = X25519_LENGTH;
  readonly publicKeySize = X25519_LENGTH;
  readonly privateKeySize = X25519_LENGTH;
  private readonly kdf = new NodeHkdfSha256();

  constructor() {
    // suite_id = "KEM" || I2OSP(kem_id, 2)
    this.kdf.init(concat(label('KEM'), Uint8Array.of(this.id >> 8, this.id & 0xff)));
  }

  async serializePublicKey(key: CryptoKey): Promise<ArrayBuffer> {
    return arrayBuffer(ownKey(key, 'public').publicBytes);
  }

  async deserializePublicKey(key: Bytes): Promise<CryptoKey> {
    return publicKeyFromBytes(view(key));
  }

  async serializePrivateKey(key: CryptoKey): Promise<ArrayBuffer> {
    const jwk = ownKey(key, 'private').keyObject.export({ format: 'jwk' });
    return arrayBuffer(Buffer.from(jwk.d as string, 'base64url'));
  }

  async deserializePrivateKey(key: Bytes): Promise<CryptoKey> {
    return privateKeyFromBytes(view(key));
  }

  async importKey(format: 'raw' | 'jwk', key: ArrayBuffer | JsonWebKey, isPublic = true): Promise<CryptoKey> {
    if (format !== 'raw') throw new NotSupportedError('NodeDhkemX25519HkdfSha256 imports raw keys only');
    const bytes = view(key as ArrayBuffer);
    return isPublic ? publicKeyFromBytes(bytes) : privateKeyFromBytes(bytes);
  }

  async generateKeyPair(): Promise<CryptoKeyPair> {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const publicBytes = rawPublic(publicKey);
    return {
      privateKey: new NodeX25519Key('private', privateKey, publicBytes),
      publicKey: new NodeX25519Key('public', publicKey, publicBytes),
    };
  }

  /** DeriveKeyPair, RFC 9180 section 7.1.3 (X25519: sk = LabeledExpand(dkp_prk, "sk", "", 32)). */
  async deriveKeyPair(ikm: Bytes): Promise<CryptoKeyPair> {
    const prk = this.kdf.labeledExtractSync(new Uint8Array(0), LABEL_DKP_PRK, view(ikm));
    const sk = this.kdf.labeledExpandSync(prk, LABEL_SK, new Uint8Array(0), X25519_LENGTH);
    prk.fill(0);
    const privateKey = privateKeyFromBytes(sk);
    sk.fill(0);
    return { privateKey, publicKey: publicKeyFromBytes(privateKey.publicBytes) };
  }

  async encap(params: SenderContextParams): Promise<{ sharedSecret: ArrayBuffer; enc: ArrayBuffer }> {
    if (params.senderKey !== undefined) throw new NotSupportedError('auth mode is not supported');
    try {
      // `ekm` (a fixed ephemeral key) exists for test vectors only, as in @hpke/core.
      const ephemeral =
        params.ekm === undefined
          ? await this.generateKeyPair()
          : isKeyPair(params.ekm)
            ? params.ekm
            : await this.deriveKeyPair(params.ekm);
      const skE = ownKey(ephemeral.privateKey, 'private');
      const pkR = ownKey(params.recipientPublicKey, 'public');
      const enc = skE.publicBytes;
      const sharedSecret = this.sharedSecret(dh(skE, pkR), concat(enc, pkR.publicBytes));
      return { sharedSecret: arrayBuffer(sharedSecret), enc: arrayBuffer(enc) };
    } catch (error) {
      throw new EncapError(error);
    }
  }

  async decap(params: RecipientContextParams): Promise<ArrayBuffer> {
    if (params.senderPublicKey !== undefined) throw new NotSupportedError('auth mode is not supported');
    const enc = view(params.enc);
    const pkE = publicKeyFromBytes(enc);
    try {
      const skR = ownKey(
        isKeyPair(params.recipientKey) ? params.recipientKey.privateKey : params.recipientKey,
        'private',
      );
      return arrayBuffer(this.sharedSecret(dh(skR, pkE), concat(enc, skR.publicBytes)));
    } catch (error) {
      throw new DecapError(error);
    }
  }

  /** ExtractAndExpand(dh, kem_context), RFC 9180 section 4.1; the DH value's life ends here. */
  private sharedSecret(dhValue: Uint8Array, kemContext: Uint8Array): Uint8Array {
    const prk = this.kdf.labeledExtractSync(new Uint8Array(0), LABEL_EAE_PRK, dhValue);
    dhValue.fill(0);
    const secret = this.kdf.labeledExpandSync(prk, LABEL_SHARED_SECRET, kemContext, this.secretSize);
    prk.fill(0);
    return secret;
  }
}

/** AES-GCM (RFC 9180 section 7.3) with node:crypto; 128-bit keys only for the RFC's vectors. */
export class NodeAesGcm implements AeadInterface {
  readonly id: AeadId;
  readonly keySize: number;
  readonly nonceSize = 12;
  readonly tagSize = 16;
  private readonly algorithm: 'aes-128-gcm' | 'aes-256-gcm';

  constructor(bits: 128 | 256 = 256) {
    this.id = bits === 128 ? AeadId.Aes128Gcm : AeadId.Aes256Gcm;
    this.keySize = bits / 8;
    this.algorithm = bits === 128 ? 'aes-128-gcm' : 'aes-256-gcm';
  }

  createEncryptionContext(key: Bytes): AeadEncryptionContext {
    const keyBytes = Uint8Array.from(view(key));
    if (keyBytes.length !== this.keySize) throw new RangeError(`AES-GCM key must be ${this.keySize} bytes`);
    const { algorithm, tagSize } = this;
    return {
      async seal(iv: Bytes, data: Bytes, aad: Bytes): Promise<ArrayBuffer> {
        const cipher = createCipheriv(algorithm, keyBytes, view(iv), { authTagLength: tagSize });
        cipher.setAAD(view(aad));
        return arrayBuffer(concat(cipher.update(view(data)), cipher.final(), cipher.getAuthTag()));
      },
      async open(iv: Bytes, data: Bytes, aad: Bytes): Promise<ArrayBuffer> {
        const sealed = view(data);
        if (sealed.length < tagSize) throw new OpenError('ciphertext shorter than its tag');
        const decipher = createDecipheriv(algorithm, keyBytes, view(iv), { authTagLength: tagSize });
        decipher.setAAD(view(aad));
        decipher.setAuthTag(sealed.subarray(sealed.length - tagSize));
        const plaintext = decipher.update(sealed.subarray(0, sealed.length - tagSize));
        try {
          return arrayBuffer(concat(plaintext, decipher.final()));
        } catch {
          plaintext.fill(0); // unauthenticated plaintext never leaves
          throw new OpenError('ciphertext did not authenticate');
        }
      },
    };
  }
}

/**
 * The vault's HPKE suite (docs/PROTOCOL.md): DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM,
 * all over node:crypto. Byte-for-byte the same protocol as @hpke/core's default suite, which clients
 * use; keys for this suite come from its own `kem` (deserializePrivateKey / deserializePublicKey).
 */
export function createNodeHpkeSuite(): CipherSuite {
  return new CipherSuite({
    kem: new NodeDhkemX25519HkdfSha256(),
    kdf: new NodeHkdfSha256(),
    aead: new NodeAesGcm(256),
  });
}
