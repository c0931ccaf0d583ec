// A BlobStore over ChatD's blob service (docs/PROTOCOL.md "ChatD: Blobs"): the server's own storage
// for accounts that do not bring their own directory or S3 bucket. Uploads and downloads are
// chunked with at most BLOB_WINDOW chunks unacknowledged, so memory stays constant; the stream
// is ciphertext (src/format), so ChatD holds nothing it can read.
import {
  BlobChunk,
  BlobChunkAck,
  BlobDelete,
  BlobEnd,
  BlobGet,
  BlobListRequest,
  BlobPut,
  BlobStored,
  MAX_BLOB_LIST_ENTRIES,
} from '../../protocol/chatd/blobs.ts';
import { Ok } from '../../protocol/chatd/errors.ts';
import { BLOB_WINDOW, MAX_BLOB_CHUNK_BYTES } from '../../protocol/chatd/message.ts';
import { type BlobInfo, type BlobStore, checkBlobName } from '../../stores/blob/blob-store.ts';
import { type ChatdClient, expectMessage } from './client.ts';

/** Regroups a stream into pieces of at most MAX_BLOB_CHUNK_BYTES (and at least 1 byte). */
async function* pieces(data: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (let chunk of data) {
    while (chunk.length > 0) {
      const take = Math.min(chunk.length, MAX_BLOB_CHUNK_BYTES - pendingBytes);
      pending.push(chunk.subarray(0, take));
      pendingBytes += take;
      chunk = chunk.subarray(take);
      if (pendingBytes === MAX_BLOB_CHUNK_BYTES) {
        yield join(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield join(pending, pendingBytes);
}

function join(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return Uint8Array.from(parts[0]!);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export class ChatdBlobStore implements BlobStore {
  readonly location = 'chatd:';

  constructor(private readonly client: ChatdClient) {}

  async put(name: string, data: AsyncIterable<Uint8Array>): Promise<number> {
    checkBlobName(name);
    const { id, channel, done } = this.client.openChannel();
    try {
      this.client.send(id, new BlobPut(name));
      expectMessage(await this.client.receiveOn(channel), Ok);
      let sent = 0;
      let acked = 0;
      let total = 0n;
      const awaitAck = async () => {
        const ack = expectMessage(await this.client.receiveOn(channel), BlobChunkAck);
        if (ack.seq !== acked) throw new Error(`ChatD acknowledged chunk ${ack.seq}, expected ${acked}`);
        acked++;
      };
      for await (const piece of pieces(data)) {
        while (sent - acked >= BLOB_WINDOW) await awaitAck();
        this.client.send(id, new BlobChunk(sent++, piece));
        total += BigInt(piece.length);
      }
      while (acked < sent) await awaitAck();
      this.client.send(id, new BlobEnd(total));
      return Number(expectMessage(await this.client.receiveOn(channel), BlobStored).size);
    } finally {
      done();
    }
  }

  async *get(name: string): AsyncIterable<Uint8Array> {
    checkBlobName(name);
    const { id, channel, done } = this.client.openChannel();
    // A consumer that stops early leaves the server waiting for acks until the connection ends;
    // the server bounds that with its per-connection transfer limit.
    try {
      this.client.send(id, new BlobGet(name));
      let seq = 0;
      let total = 0n;
      for (;;) {
        const message = await this.client.receiveOn(channel);
        if (message instanceof BlobEnd) {
          if (message.totalSize !== total)
            throw new Error(`ChatD ended blob ${name} at ${message.totalSize} bytes, ${total} arrived`);
          return;
        }
        const chunk = expectMessage(message, BlobChunk);
        if (chunk.seq !== seq) throw new Error(`ChatD sent chunk ${chunk.seq}, expected ${seq}`);
        total += BigInt(chunk.data.length);
        yield chunk.data;
        // Acknowledged only once the consumer asks for more: the server's window is our backpressure.
        this.client.send(id, new BlobChunkAck(seq++));
      }
    } finally {
      done();
    }
  }

  /** Every blob of the prefix, page by page: a full BlobList may have more after its last name. */
  async list(prefix = ''): Promise<BlobInfo[]> {
    const blobs: BlobInfo[] = [];
    let after: string | undefined;
    for (;;) {
      const { entries } = await this.client.request(new BlobListRequest(prefix, after));
      for (const e of entries)
        blobs.push({ name: e.name, size: Number(e.size), modified: new Date(Number(e.modifiedMs)) });
      if (entries.length < MAX_BLOB_LIST_ENTRIES) return blobs;
      after = entries.at(-1)!.name;
    }
  }

  async delete(name: string): Promise<void> {
    checkBlobName(name);
    await this.client.request(new BlobDelete(name));
  }
}
