// The length-checked frame reader and the malformed-frame error shared by the vault and ChatD
// codecs (docs/PROTOCOL.md "Encoding" and "ChatD: Encoding"). Browser-safe: the client uses both.
import { StrongroomError } from '../errors.ts';

/**
 * A frame (or a field given to a message constructor) is malformed: truncated, too long, a field
 * of the wrong size, an unknown tag. Nothing it asked for was done. The message names the message
 * type and field, never a secret byte. ChatD closes the connection on it; the vault core refuses.
 */
export class MalformedFrameError extends StrongroomError {
  constructor(message: string) {
    super(`malformed frame: ${message}`);
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a frame field by field, big-endian. Every read checks that its bytes are there before
 * using them, and every error names `what` (the message type) and the field.
 */
export class Reader {
  #offset = 0;
  readonly #view: DataView;
  constructor(
    private readonly input: Uint8Array,
    private readonly what: string,
  ) {
    if (!(input instanceof Uint8Array)) throw new MalformedFrameError(`${what}: not bytes`);
    this.#view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  #need(length: number, field: string): number {
    const at = this.#offset;
    if (at + length > this.input.length) throw new MalformedFrameError(`${this.what}: ${field} is truncated`);
    this.#offset += length;
    return at;
  }

  #take(length: number, field: string): Uint8Array {
    const at = this.#need(length, field);
    return this.input.subarray(at, at + length);
  }

  /** Exactly `length` bytes, copied into a plain Uint8Array so the caller may keep them. */
  bytes(length: number, field: string): Uint8Array {
    return new Uint8Array(this.#take(length, field));
  }

  u8(field: string): number {
    return this.#view.getUint8(this.#need(1, field));
  }

  u16(field: string): number {
    return this.#view.getUint16(this.#need(2, field));
  }

  u32(field: string): number {
    return this.#view.getUint32(this.#need(4, field));
  }

  u64(field: string): bigint {
    return this.#view.getBigUint64(this.#need(8, field));
  }

  #length(width: 1 | 2 | 4, field: string): number {
    const name = `${field} length`;
    return width === 1 ? this.u8(name) : width === 2 ? this.u16(name) : this.u32(name);
  }

  /** A u8/u16/u32 length then that many bytes, copied. */
  prefixed(width: 1 | 2 | 4, field: string): Uint8Array {
    return this.bytes(this.#length(width, field), field);
  }

  /** A u8 length then UTF-8 text; invalid UTF-8 is malformed, never replaced. */
  string8(field: string): string {
    return this.#utf8(this.#take(this.#length(1, field), field), field);
  }

  /** A u16 length then UTF-8 text. */
  string16(field: string): string {
    return this.#utf8(this.#take(this.#length(2, field), field), field);
  }

  #utf8(bytes: Uint8Array, field: string): string {
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw new MalformedFrameError(`${this.what}: ${field} is not UTF-8`);
    }
  }

  /** The remaining bytes (the last field of a frame), copied. */
  rest(): Uint8Array {
    return this.bytes(this.input.length - this.#offset, 'rest');
  }

  /** Every frame is exactly its fields: trailing bytes are an error, not ignored (malleability). */
  end(): void {
    if (this.#offset !== this.input.length) {
      throw new MalformedFrameError(
        `${this.what}: ${this.input.length - this.#offset} unexpected trailing bytes`,
      );
    }
  }
}
