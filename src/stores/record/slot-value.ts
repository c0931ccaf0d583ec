// The byte layout of one record slot as a key-value store keeps it (docs/ARCHITECTURE.md "Record store"; etcd.ts).
// Both parts are opaque, already sealed or certified bytes; this layout only frames them.
//
//   version u8 (= 1) || flags u8 (bit 0: committed present, bit 1: intent present)
//   || [committedLen u32 BE || committed] || [intentLen u32 BE || intent]
import { UnavailableError } from '../../errors.ts';

const LAYOUT_VERSION = 1;
const HAS_COMMITTED = 1;
const HAS_INTENT = 2;

export interface SlotParts {
  readonly committed?: Uint8Array;
  readonly intent?: Uint8Array;
}

export function encodeSlotValue(parts: SlotParts): Uint8Array {
  const fields = [parts.committed, parts.intent];
  let size = 2;
  for (const field of fields) if (field !== undefined) size += 4 + field.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = LAYOUT_VERSION;
  out[1] = (parts.committed ? HAS_COMMITTED : 0) | (parts.intent ? HAS_INTENT : 0);
  let at = 2;
  for (const field of fields) {
    if (field === undefined) continue;
    view.setUint32(at, field.length);
    out.set(field, at + 4);
    at += 4 + field.length;
  }
  return out;
}

/** Rejects anything not exactly in the layout: a store that garbles a slot is not silently trusted. */
export function decodeSlotValue(bytes: Uint8Array): SlotParts {
  const malformed = (why: string) =>
    new UnavailableError(`the record store returned a malformed slot (${why})`, {
      hints: [
        'the store may be damaged or tampered with; `strongroom fleet repair` rebuilds it from the nodes',
      ],
    });
  const [layout, flags] = bytes;
  if (layout !== LAYOUT_VERSION || flags === undefined) throw malformed('unknown layout');
  if ((flags & ~(HAS_COMMITTED | HAS_INTENT)) !== 0) throw malformed('unknown flags');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 2;
  const take = (): Uint8Array => {
    if (at + 4 > bytes.length) throw malformed('truncated length');
    const length = view.getUint32(at);
    if (at + 4 + length > bytes.length) throw malformed('truncated field');
    const field = bytes.slice(at + 4, at + 4 + length);
    at += 4 + length;
    return field;
  };
  const committed = flags & HAS_COMMITTED ? take() : undefined;
  const intent = flags & HAS_INTENT ? take() : undefined;
  if (at !== bytes.length) throw malformed('trailing bytes');
  return { ...(committed ? { committed } : {}), ...(intent ? { intent } : {}) };
}
