// Repository object encodings (docs/FORMAT.md §12.3–12.4): the public config object and the sealed
// object that every other stored byte is (chunks, trees, pack headers, indexes, snapshots).
import { DamagedBackupError, WrongKeyError } from '../../errors.ts';
import { type Aead, concatBytes, constantTimeEqual, type FormatCrypto } from '../../format/crypto.ts';
import { REPO_KEY_CHECK_LENGTH, REPOSITORY_ID_LENGTH } from './keys.ts';

export const CONFIG_MAGIC = new TextEncoder().encode('SRREPO1\n');
export const CONFIG_VERSION = 1;
/** magic(8) || version(1) || repository id(16) || key check(16) || SHA-256 of the preceding(32). */
export const CONFIG_LENGTH = CONFIG_MAGIC.length + 1 + REPOSITORY_ID_LENGTH + REPO_KEY_CHECK_LENGTH + 32;
const CONFIG_BODY = CONFIG_LENGTH - 32;

export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;

/** The type byte of a sealed object's plaintext (docs/FORMAT.md §12.4): no object passes for another. */
export const ObjectType = {
  chunk: 1,
  tree: 2,
  packHeader: 3,
  index: 4,
  snapshot: 5,
  lock: 6,
} as const;
export type ObjectType = (typeof ObjectType)[keyof typeof ObjectType];

export interface RepositoryConfig {
  readonly repositoryId: Uint8Array;
  readonly keyCheck: Uint8Array;
}

export async function encodeConfig(crypto: FormatCrypto, config: RepositoryConfig): Promise<Uint8Array> {
  const out = new Uint8Array(CONFIG_LENGTH);
  out.set(CONFIG_MAGIC, 0);
  out[CONFIG_MAGIC.length] = CONFIG_VERSION;
  out.set(config.repositoryId, CONFIG_MAGIC.length + 1);
  out.set(config.keyCheck, CONFIG_MAGIC.length + 1 + REPOSITORY_ID_LENGTH);
  out.set(await crypto.sha256(out.subarray(0, CONFIG_BODY)), CONFIG_BODY);
  return out;
}

/**
 * Parses the config object. Its checksum is unkeyed on purpose (§12.3): it tells damage (checksum
 * fails) from a wrong key (checksum holds, key check differs) without needing the key.
 */
export async function decodeConfig(crypto: FormatCrypto, bytes: Uint8Array): Promise<RepositoryConfig> {
  const damaged = (why: string) => new DamagedBackupError(`the repository's config is damaged: ${why}`);
  if (bytes.length !== CONFIG_LENGTH) throw damaged(`${bytes.length} bytes, expected ${CONFIG_LENGTH}`);
  if (!constantTimeEqual(await crypto.sha256(bytes.subarray(0, CONFIG_BODY)), bytes.subarray(CONFIG_BODY))) {
    throw damaged('its checksum does not match');
  }
  if (!constantTimeEqual(bytes.subarray(0, CONFIG_MAGIC.length), CONFIG_MAGIC))
    throw damaged('not a repository');
  if (bytes[CONFIG_MAGIC.length] !== CONFIG_VERSION) {
    throw damaged(`unknown version ${bytes[CONFIG_MAGIC.length]}`);
  }
  const idStart = CONFIG_MAGIC.length + 1;
  return {
    repositoryId: bytes.slice(idStart, idStart + REPOSITORY_ID_LENGTH),
    keyCheck: bytes.slice(idStart + REPOSITORY_ID_LENGTH, CONFIG_BODY),
  };
}

/** Throws WrongKeyError unless `derived` is the config's key check (constant time). */
export function checkKey(config: RepositoryConfig, derived: Uint8Array): void {
  if (!constantTimeEqual(config.keyCheck, derived)) {
    throw new WrongKeyError('this key does not open this repository (its key-check value differs)');
  }
}

/**
 * Seals `body` as an object of `type` bound to `binding` (the stored name it must be found under,
 * or '' for blobs inside packs, which their keyed id binds instead): nonce(12) || AES-256-GCM of
 * type(1) || binding length(1) || binding (ASCII) || body.
 */
export async function sealObject(
  aead: Aead,
  nonce: Uint8Array,
  type: ObjectType,
  binding: string,
  body: readonly Uint8Array[],
): Promise<Uint8Array[]> {
  if (nonce.length !== NONCE_LENGTH) throw new RangeError(`nonce is ${nonce.length} bytes`);
  const bindingBytes = new TextEncoder().encode(binding);
  if (bindingBytes.length > 255) throw new RangeError('binding longer than 255 bytes');
  const prefix = new Uint8Array(2 + bindingBytes.length);
  prefix[0] = type;
  prefix[1] = bindingBytes.length;
  prefix.set(bindingBytes, 2);
  return [nonce, ...(await aead.seal(nonce, [prefix, ...body]))];
}

/**
 * Opens a sealed object and checks its type and binding; returns its body. Any failure is a
 * DamagedBackupError naming `what` (the key was already checked against the config, §12.3).
 */
export async function openObject(
  aead: Aead,
  sealed: Uint8Array,
  type: ObjectType,
  binding: string,
  what: string,
): Promise<Uint8Array> {
  if (sealed.length < NONCE_LENGTH + TAG_LENGTH + 2) {
    throw new DamagedBackupError(`${what} is damaged: ${sealed.length} bytes is too short`);
  }
  const pieces = await aead.open(sealed.subarray(0, NONCE_LENGTH), [sealed.subarray(NONCE_LENGTH)]);
  if (pieces === null) {
    throw new DamagedBackupError(
      `${what} is damaged or does not belong to this repository (it fails to authenticate)`,
    );
  }
  const plain = concatBytes(pieces);
  const bindingLength = plain[1]!;
  const storedBinding = new TextDecoder().decode(plain.subarray(2, 2 + bindingLength));
  if (plain[0] !== type || storedBinding !== binding) {
    throw new DamagedBackupError(`${what} is authentic but stored in the wrong place (swapped or replayed)`);
  }
  return plain.subarray(2 + bindingLength);
}
