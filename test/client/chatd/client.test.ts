// The device side of ChatD against misbehaving servers (src/client/chatd/client.ts): a real `ws`
// server on loopback that answers wrongly, late or not at all. Every case ends in a typed error.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { ChatdClient } from '../../../src/client/chatd/client.ts';
import { DeviceIdentity } from '../../../src/client/chatd/identity.ts';
import { openNodeSocket } from '../../../src/client/node/chatd-socket.ts';
import { StrongroomError, UnavailableError } from '../../../src/errors.ts';
import { encodeFrame } from '../../../src/protocol/chatd/frame.ts';
import { Welcome } from '../../../src/protocol/chatd/handshake.ts';

/** A WebSocket server whose every connection is handed to `behave`. */
async function fakeServer(
  behave: (socket: import('ws').WebSocket) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  wss.on('connection', behave);
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/chatd`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

const identity = DeviceIdentity.generate('alice');
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
});

describe('ChatD client against a misbehaving server', () => {
  it('rejects a malformed server frame', async () => {
    const server = await fakeServer((socket) =>
      socket.on('message', () => socket.send(Uint8Array.of(0x02, 0, 0, 0, 1, 9))),
    );
    closers.push(server.close);
    await assert.rejects(
      ChatdClient.connect({ url: server.url, identity, openSocket: openNodeSocket }),
      (e: unknown) =>
        e instanceof StrongroomError && /malformed frame: challenge: nonce must be 32 bytes/.test(e.message),
    );
  });

  it('rejects an answer of the wrong type', async () => {
    const server = await fakeServer((socket) =>
      socket.on('message', () => socket.send(encodeFrame(1, new Welcome(1)))),
    );
    closers.push(server.close);
    await assert.rejects(
      ChatdClient.connect({ url: server.url, identity, openSocket: openNodeSocket }),
      /ChatD answered message type 0x4 where 0x2 was due/,
    );
  });

  it('gives up on a server that never answers (UnavailableError)', async () => {
    const server = await fakeServer(() => {});
    closers.push(server.close);
    await assert.rejects(
      ChatdClient.connect({ url: server.url, identity, openSocket: openNodeSocket, requestTimeoutMs: 200 }),
      UnavailableError,
    );
  });

  it('fails pending requests when the server hangs up', async () => {
    const server = await fakeServer((socket) => socket.on('message', () => socket.close(1011, 'going away')));
    closers.push(server.close);
    await assert.rejects(
      ChatdClient.connect({ url: server.url, identity, openSocket: openNodeSocket }),
      (e: unknown) =>
        e instanceof UnavailableError && /connection to ChatD closed \(1011: going away\)/.test(e.message),
    );
  });

  it('reports an unreachable server as unavailable', async () => {
    await assert.rejects(
      ChatdClient.connect({ url: 'ws://127.0.0.1:1/v1/chatd', identity, openSocket: openNodeSocket }),
      /cannot reach ChatD at ws:\/\/127\.0\.0\.1:1/,
    );
  });
});
