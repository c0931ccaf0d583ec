// An ordered queue of the server's frames for one request id (docs/PROTOCOL.md "ChatD: Blobs"): a
// blob transfer receives many answers under one id, so they are queued and pulled in order.
import type { ServerMessage } from '../../protocol/chatd/frame.ts';

export class FrameChannel {
  private readonly items: ServerMessage[] = [];
  private waiter: { resolve: (m: ServerMessage) => void; reject: (e: unknown) => void } | undefined;
  private failure: unknown;

  push(message: ServerMessage): void {
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(message);
    } else {
      this.items.push(message);
    }
  }

  /** Fails the channel: the pending and every later `next()` reject with `error`. */
  fail(error: unknown): void {
    this.failure ??= error;
    if (this.waiter) {
      const { reject } = this.waiter;
      this.waiter = undefined;
      reject(error);
    }
  }

  next(): Promise<ServerMessage> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}
