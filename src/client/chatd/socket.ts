// The WebSocket a device talks to ChatD through, reduced to what the client needs: binary frames
// in and out, and a close (docs/PROTOCOL.md "ChatD: Frames"). The browser's global WebSocket is
// used when present; Node 20 has none, so Node callers pass src/client/node/chatd-socket.ts.

export interface FrameSocket {
  send(frame: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Called with each binary frame; text frames are a protocol error and close the socket. */
  onFrame: (frame: Uint8Array) => void;
  /** Called once when the socket closes, for any reason. */
  onClose: (code: number, reason: string) => void;
}

/** Opens a connected socket to `url`, or rejects when the server cannot be reached. */
export type SocketOpener = (url: string) => Promise<FrameSocket>;

/** Opens a socket with the platform's global WebSocket (browsers, Node 22+). */
export const openGlobalSocket: SocketOpener = (url) =>
  new Promise((resolve, reject) => {
    if (typeof globalThis.WebSocket !== 'function') {
      reject(
        new Error('no global WebSocket here: pass a socket opener (src/client/node/chatd-socket.ts in Node)'),
      );
      return;
    }
    const ws = new globalThis.WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const socket: FrameSocket = {
      send: (frame) => ws.send(frame),
      close: (code, reason) => ws.close(code, reason),
      onFrame: () => {},
      onClose: () => {},
    };
    let open = false;
    ws.onopen = () => {
      open = true;
      resolve(socket);
    };
    ws.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) socket.onFrame(new Uint8Array(event.data));
      else ws.close(1003, 'text frames are not part of the protocol');
    };
    ws.onclose = (event) => {
      if (!open) reject(new Error(`could not connect to ${url}`));
      socket.onClose(event.code, event.reason);
    };
  });
