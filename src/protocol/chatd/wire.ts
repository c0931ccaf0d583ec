// Length-checked byte reader and writer for ChatD frames (docs/PROTOCOL.md "ChatD: Encoding").
// Every read checks that the bytes are there before using them; a frame that is short, long or
// out of range raises MalformedFrameError, which ChatD answers by closing the connection.

/** A ChatD frame (or one of its fields) is malformed; nothing it asked for was done. */
export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(`malformed frame: ${message}`);
    this.name = 'MalformedFrameError';
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Builds a frame from big-endian integers and length-prefixed fields. */
export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(part: Uint8Array): this {
    this.parts.push(part);
    this.length += part.length;
    return this;
  }

  u8(value: number): this {
    return this.push(Uint8Array.of(value));
  }

  u16(value: number): this {
    return this.push(Uint8Array.of(value >>> 8, value & 0xff));
  }

  u32(value: number): this {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value);
    return this.push(bytes);
  }

  u64(value: bigint): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, value);
    return this.push(bytes);
  }

  bytes(value: Uint8Array): this {
    return this.push(value);
  }

  /** u8 length then UTF-8 bytes. */
  string8(value: string): this {
    const bytes = utf8Encoder.encode(value);
    return this.u8(bytes.length).push(bytes);
  }

  /** u16 length then UTF-8 bytes. */
  string16(value: string): this {
    const bytes = utf8Encoder.encode(value);
    return this.u16(bytes.length).push(bytes);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

/** Reads a frame field by field; each method throws MalformedFrameError past the end. */
export class ByteReader {
  private offset = 0;
  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {}

  private take(count: number, field: string): Uint8Array {
    if (this.offset + count > this.data.length) {
      throw new MalformedFrameError(`${this.what}: ${field} is truncated`);
    }
    const out = this.data.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  u8(field: string): number {
    return this.take(1, field)[0]!;
  }

  u16(field: string): number {
    const b = this.take(2, field);
    return (b[0]! << 8) | b[1]!;
  }

  u32(field: string): number {
    const b = this.take(4, field);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  u64(field: string): bigint {
    const b = this.take(8, field);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  }

  /** Exactly `count` bytes, copied so the caller may keep them. */
  bytes(count: number, field: string): Uint8Array {
    return Uint8Array.from(this.take(count, field));
  }

  /** Everything left, copied. */
  rest(): Uint8Array {
    return Uint8Array.from(this.take(this.data.length - this.offset, 'rest'));
  }

  string8(field: string): string {
    return this.utf8(this.take(this.u8(`${field} length`), field), field);
  }

  string16(field: string): string {
    return this.utf8(this.take(this.u16(`${field} length`), field), field);
  }

  private utf8(bytes: Uint8Array, field: string): string {
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw new MalformedFrameError(`${this.what}: ${field} is not UTF-8`);
    }
  }

  /** Rejects trailing bytes: every frame has exactly one encoding. */
  end(): void {
    if (this.offset !== this.data.length) {
      throw new MalformedFrameError(
        `${this.what}: ${this.data.length - this.offset} unexpected trailing bytes`,
      );
    }
  }
}

/** Throws MalformedFrameError unless `ok`; constructors use it so bad sizes never build a message. */
export function check(ok: boolean, what: string, problem: string): void {
  if (!ok) throw new MalformedFrameError(`${what}: ${problem}`);
}
