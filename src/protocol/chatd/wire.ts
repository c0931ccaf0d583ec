// Byte writer for ChatD frames (docs/PROTOCOL.md "ChatD: Encoding"). Frames are read with the
// length-checked Reader shared with the vault codecs (../bytes.ts); a frame that is short, long or
// out of range raises MalformedFrameError, which ChatD answers by closing the connection.
import { MalformedFrameError } from '../bytes.ts';

export { MalformedFrameError, Reader } from '../bytes.ts';

const utf8Encoder = new TextEncoder();

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

/** Throws MalformedFrameError unless `ok`; constructors use it so bad sizes never build a message. */
export function check(ok: boolean, what: string, problem: string): void {
  if (!ok) throw new MalformedFrameError(`${what}: ${problem}`);
}
