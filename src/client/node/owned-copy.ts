// Copies byte pieces into one buffer that owns its whole ArrayBuffer, so it can be transferred to
// or from a worker thread without copying again (./worker-crypto.ts).

export function ownedCopy(pieces: readonly Uint8Array[]): Uint8Array {
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
