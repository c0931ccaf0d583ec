// Blob uploads and downloads on one connection (docs/PROTOCOL.md "ChatD: Blobs"): chunks in sequence,
// one acknowledgement each, at most BLOB_WINDOW unacknowledged on a download, at most MAX_TRANSFERS
// at once. Chunks are written one after another per upload; a failed upload is discarded whole.
import {
  BlobChunk,
  BlobChunkAck,
  BlobEnd,
  type BlobGet,
  type BlobPut,
  BlobStored,
} from '../protocol/chatd/blobs.ts';
import { ErrorCode, Ok } from '../protocol/chatd/errors.ts';
import { BLOB_WINDOW, type ChatdMessage } from '../protocol/chatd/message.ts';
import { MalformedFrameError } from '../protocol/chatd/wire.ts';
import { type BlobStorage, QuotaExceededError, type Upload } from './blob-storage.ts';
import { RequestError } from './request-error.ts';

/** Blob uploads and downloads one connection may run at once. */
export const MAX_TRANSFERS = 4;

/** What a transfer needs from its connection. */
export interface TransferLink {
  send(requestId: number, message: ChatdMessage): void;
  /** Answers `requestId` with an ErrorFrame for `error` (or closes the connection if malformed). */
  answerError(requestId: number, error: unknown): void;
}

interface UploadState {
  readonly upload: Upload;
  nextSeq: number;
  chain: Promise<void>;
}

interface DownloadState {
  acked: number;
  wake?: () => void;
  cancelled: boolean;
}

export class BlobTransfers {
  private readonly uploads = new Map<number, UploadState>();
  private readonly downloads = new Map<number, DownloadState>();
  /** Transfers that failed: late chunks the device had in flight are dropped, not treated as malformed. */
  private readonly ended = new Set<number>();

  constructor(
    private readonly blobs: BlobStorage,
    private readonly link: TransferLink,
  ) {}

  private reserve(requestId: number): void {
    if (this.uploads.has(requestId) || this.downloads.has(requestId)) {
      throw new MalformedFrameError('request id already names a transfer');
    }
    if (this.uploads.size + this.downloads.size >= MAX_TRANSFERS) {
      throw new RequestError(
        ErrorCode.rateLimited,
        `at most ${MAX_TRANSFERS} transfers at once per connection`,
        1000,
      );
    }
  }

  async beginUpload(accountId: number, requestId: number, m: BlobPut): Promise<void> {
    this.reserve(requestId);
    const upload = await this.blobs.beginUpload(accountId, m.name);
    this.uploads.set(requestId, { upload, nextSeq: 0, chain: Promise.resolve() });
    this.link.send(requestId, new Ok());
  }

  private upload(requestId: number): UploadState | undefined {
    const state = this.uploads.get(requestId);
    if (state === undefined && !this.ended.has(requestId))
      throw new MalformedFrameError('no upload with that request id');
    return state;
  }

  /** Ends a failed upload: its partial file is gone and the device's late chunks are ignored. */
  private failed(requestId: number, state: UploadState, error: unknown): void {
    this.uploads.delete(requestId);
    this.ended.add(requestId);
    void state.upload.abort();
    if (error instanceof QuotaExceededError) {
      this.link.answerError(requestId, new RequestError(ErrorCode.quotaExceeded, error.message));
    } else if (error instanceof RangeError) {
      this.link.answerError(requestId, new MalformedFrameError(error.message));
    } else {
      this.link.answerError(requestId, error);
    }
  }

  chunk(requestId: number, m: BlobChunk): void {
    const state = this.upload(requestId);
    if (state === undefined) return;
    if (m.seq !== state.nextSeq)
      throw new MalformedFrameError(`blob chunk ${m.seq} arrived, expected ${state.nextSeq}`);
    state.nextSeq++;
    state.chain = state.chain.then(async () => {
      if (!this.uploads.has(requestId)) return;
      try {
        await state.upload.write(m.data);
        this.link.send(requestId, new BlobChunkAck(m.seq));
      } catch (error) {
        this.failed(requestId, state, error);
      }
    });
  }

  endUpload(requestId: number, m: BlobEnd): void {
    const state = this.upload(requestId);
    if (state === undefined) return;
    state.chain = state.chain.then(async () => {
      if (!this.uploads.has(requestId)) return;
      try {
        const size = await state.upload.finish(m.totalSize);
        this.uploads.delete(requestId);
        this.link.send(requestId, new BlobStored(BigInt(size)));
      } catch (error) {
        this.failed(requestId, state, error);
      }
    });
  }

  async download(accountId: number, requestId: number, m: BlobGet): Promise<void> {
    this.reserve(requestId);
    const blob = await this.blobs.openBlob(accountId, m.name);
    if (blob === undefined) throw new RequestError(ErrorCode.notFound, `no blob ${m.name}`);
    const state: DownloadState = { acked: 0, cancelled: false };
    this.downloads.set(requestId, state);
    let seq = 0;
    let total = 0n;
    for await (const chunk of blob.chunks) {
      while (seq - state.acked >= BLOB_WINDOW && !state.cancelled) {
        await new Promise<void>((resolve) => {
          state.wake = resolve;
        });
      }
      if (state.cancelled) return;
      this.link.send(requestId, new BlobChunk(seq++, chunk));
      total += BigInt(chunk.length);
    }
    this.downloads.delete(requestId);
    this.link.send(requestId, new BlobEnd(total));
  }

  ack(requestId: number, m: BlobChunkAck): void {
    const state = this.downloads.get(requestId);
    if (state === undefined) return; // an ack for a download that just ended
    if (m.seq !== state.acked) throw new MalformedFrameError(`ack ${m.seq} arrived, expected ${state.acked}`);
    state.acked++;
    state.wake?.();
  }

  /** The connection ended: partial uploads are deleted, downloads stop. */
  closeAll(): void {
    for (const state of this.uploads.values()) void state.upload.abort();
    this.uploads.clear();
    for (const state of this.downloads.values()) {
      state.cancelled = true;
      state.wake?.();
    }
    this.downloads.clear();
  }
}
