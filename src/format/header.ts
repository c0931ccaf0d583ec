// The backup stream header (docs/FORMAT.md "Header").
//
//   offset  size  field
//        0     8  magic        53 52 42 4b 0d 0a 1a 0a  ("SRBK\r\n\x1a\n")
//        8     1  version      0x01
//        9     4  chunk size   uint32 big-endian, plaintext bytes per chunk, a power of two 2^10..2^24
//       13    32  salt         random, fresh per backup
//       45    16  key check    HKDF(K, salt, "strongroom/v1/key-check", 16)
//       61    32  header MAC   HMAC-SHA256(HKDF(K, salt, "strongroom/v1/header", 32), bytes 0..60)
//       93        (end; chunks follow)
import { DamagedBackupError, WrongKeyError } from '../errors.ts';
import { constantTimeEqual, type FormatCrypto } from './crypto.ts';
import { deriveStreamSecrets, destroyStreamSecrets, KEY_CHECK_LENGTH, type StreamSecrets } from './derive.ts';
import type { BackupKey } from './key.ts';

export const MAGIC = Uint8Array.of(0x53, 0x52, 0x42, 0x4b, 0x0d, 0x0a, 0x1a, 0x0a);
export const VERSION = 1;
export const SALT_LENGTH = 32;
export const MAC_LENGTH = 32;
export const MIN_CHUNK_SIZE = 2 ** 10;
export const MAX_CHUNK_SIZE = 2 ** 24;
export const DEFAULT_CHUNK_SIZE = 2 ** 20;
const AUTHENTICATED_LENGTH = 8 + 1 + 4 + SALT_LENGTH + KEY_CHECK_LENGTH;
export const HEADER_LENGTH = AUTHENTICATED_LENGTH + MAC_LENGTH;

const damaged = (what: string, hints: string[] = []) =>
  new DamagedBackupError(`backup header damaged: ${what}`, {
    hints: hints.length > 0 ? hints : ['the file is not a complete Strongroom backup, or it was modified'],
  });

export function isValidChunkSize(size: number): boolean {
  return (
    Number.isInteger(size) && size >= MIN_CHUNK_SIZE && size <= MAX_CHUNK_SIZE && (size & (size - 1)) === 0
  );
}

export class Header {
  constructor(
    /** Plaintext bytes in every chunk but the last. */
    readonly chunkSize: number,
    /** 32 random bytes that make this backup's keys unique. */
    readonly salt: Uint8Array,
    /** Tells a wrong key from a damaged backup before any chunk is read. */
    readonly keyCheck: Uint8Array,
    /** HMAC over every field above; checked by `open`. */
    readonly mac: Uint8Array,
  ) {
    if (!isValidChunkSize(chunkSize))
      throw new RangeError(`chunk size ${chunkSize} is not a power of two in 2^10..2^24`);
    if (salt.length !== SALT_LENGTH)
      throw new RangeError(`salt is ${salt.length} bytes, expected ${SALT_LENGTH}`);
    if (keyCheck.length !== KEY_CHECK_LENGTH) throw new RangeError(`key check is ${keyCheck.length} bytes`);
    if (mac.length !== MAC_LENGTH)
      throw new RangeError(`header MAC is ${mac.length} bytes, expected ${MAC_LENGTH}`);
  }

  /** Makes the header of a new backup and returns it with the secrets derived for it. */
  static async create(
    crypto: FormatCrypto,
    key: BackupKey,
    chunkSize: number,
    salt: Uint8Array = crypto.randomBytes(SALT_LENGTH),
  ): Promise<{ header: Header; secrets: StreamSecrets }> {
    const secrets = await deriveStreamSecrets(crypto, key, salt);
    const body = authenticatedBytes(chunkSize, salt, secrets.keyCheck);
    const mac = await crypto.hmacSha256(secrets.headerKey, body);
    return { header: new Header(chunkSize, salt, secrets.keyCheck, mac), secrets };
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(HEADER_LENGTH);
    out.set(authenticatedBytes(this.chunkSize, this.salt, this.keyCheck));
    out.set(this.mac, AUTHENTICATED_LENGTH);
    return out;
  }

  /** Parses the fields without checking the MAC (that needs the key: `open`). */
  static deserialize(bytes: Uint8Array): Header {
    if (bytes.length !== HEADER_LENGTH) throw damaged(`${bytes.length} bytes, expected ${HEADER_LENGTH}`);
    if (!constantTimeEqual(bytes.subarray(0, 8), MAGIC)) throw notABackup();
    if (bytes[8] !== VERSION) {
      throw damaged(`unknown format version ${bytes[8]}`, [
        `this program reads version ${VERSION}; a newer Strongroom may read this backup`,
      ]);
    }
    const chunkSize = new DataView(bytes.buffer, bytes.byteOffset + 9, 4).getUint32(0);
    if (!isValidChunkSize(chunkSize)) throw damaged(`chunk size ${chunkSize} is not allowed`);
    // Copies (a Buffer's slice() would be a view into the caller's bytes).
    const copy = (from: number, length: number) => new Uint8Array(bytes.subarray(from, from + length));
    return new Header(chunkSize, copy(13, SALT_LENGTH), copy(45, KEY_CHECK_LENGTH), copy(61, MAC_LENGTH));
  }

  /**
   * Checks `key` against this header: first the key-check value (a mismatch is a WrongKeyError and
   * nothing else is tried), then the MAC (a mismatch is a DamagedBackupError). Returns the secrets
   * to open the chunks with.
   */
  async open(crypto: FormatCrypto, key: BackupKey): Promise<StreamSecrets> {
    const secrets = await deriveStreamSecrets(crypto, key, this.salt);
    try {
      if (!constantTimeEqual(secrets.keyCheck, this.keyCheck)) {
        throw new WrongKeyError('wrong key: this backup was made with a different key', {
          hints: ['nothing was decrypted; use the key that was shown when this backup was made'],
        });
      }
      const body = authenticatedBytes(this.chunkSize, this.salt, this.keyCheck);
      const expected = await crypto.hmacSha256(secrets.headerKey, body);
      if (!constantTimeEqual(expected, this.mac)) throw damaged('its MAC does not verify');
      return secrets;
    } catch (error) {
      destroyStreamSecrets(secrets);
      throw error;
    }
  }
}

function authenticatedBytes(chunkSize: number, salt: Uint8Array, keyCheck: Uint8Array): Uint8Array {
  const out = new Uint8Array(AUTHENTICATED_LENGTH);
  out.set(MAGIC, 0);
  out[8] = VERSION;
  new DataView(out.buffer).setUint32(9, chunkSize);
  out.set(salt, 13);
  out.set(keyCheck, 13 + SALT_LENGTH);
  return out;
}

/**
 * False when `start`, the first bytes of a file that ends inside the header, cannot begin a backup:
 * then the file is another kind of file (or empty), not a backup whose upload was cut short.
 */
export function couldStartBackup(start: Uint8Array): boolean {
  // The magic is public, so a plain comparison leaks nothing.
  return start.length > 0 && start.every((byte, i) => i >= MAGIC.length || byte === MAGIC[i]);
}

export const notABackup = (): DamagedBackupError =>
  new DamagedBackupError('not a Strongroom backup (its first bytes are not the backup magic)', {
    hints: ['check that this is the file or blob a backup was written to'],
  });
