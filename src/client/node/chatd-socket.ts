// The Node side of the device's ChatD socket (src/client/chatd/socket.ts): Node 20 has no global
// WebSocket, so the `ws` package provides it here, outside the browser-safe client.
import WebSocket from 'ws';
import { MAX_FRAME_BYTES } from '../../protocol/chatd/message.ts';
import type { FrameSocket, SocketOpener } from '../chatd/socket.ts';

export const openNodeSocket: SocketOpener = (url) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: MAX_FRAME_BYTES });
    const socket: FrameSocket = {
      send: (frame) => ws.send(frame),
      close: (code, reason) => ws.close(code, reason),
      onFrame: () => {},
      onClose: () => {},
    };
    let open = false;
    ws.on('open', () => {
      open = true;
      resolve(socket);
    });
    ws.on('error', (error) => {
      if (!open) reject(error);
    });
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) socket.onFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      else ws.close(1003, 'text frames are not part of the protocol');
    });
    ws.on('close', (code, reason) => {
      if (open) socket.onClose(code, reason.toString('utf8'));
    });
  });
