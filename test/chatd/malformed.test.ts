// Malformed WebSocket frames (src/protocol/chatd/frame.ts, src/chatd/connection.ts): each one
// closes the connection with an ErrorFrame naming the problem, and changes nothing. A raw `ws`
// client sends the bytes a well-behaved client never would.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ChatdBlobStore } from '../../src/client/chatd/blob-store.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { BlobChunk, BlobEnd, BlobPut } from '../../src/protocol/chatd/blobs.ts';
import { ErrorCode, ErrorFrame, Ok } from '../../src/protocol/chatd/errors.ts';
import { decodeServerFrame, encodeFrame } from '../../src/protocol/chatd/frame.ts';
import { type Challenge, DeviceState, Hello, Proof, Welcome } from '../../src/protocol/chatd/handshake.ts';
import { JoinCodeRequest, JoinSubmit } from '../../src/protocol/chatd/join.ts';
import { MAX_FRAME_BYTES } from '../../src/protocol/chatd/message.ts';
import { type Harness, startChatd } from './helpers.ts';

/** A raw connection: every frame the server sent, and how it closed. */
class RawSession {
  readonly frames: ReturnType<typeof decodeServerFrame>[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(decodeServerFrame(new Uint8Array(data)));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async open(url: string): Promise<RawSession> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new RawSession(ws);
  }

  async nextFrame(): Promise<ReturnType<typeof decodeServerFrame>> {
    const start = this.frames.length;
    while (this.frames.length === start) await new Promise<void>((r) => this.waiters.push(r));
    return this.frames.at(-1)!;
  }

  /** Hello/Proof done by hand, as a real client would. */
  async authenticate(identity: DeviceIdentity): Promise<DeviceState> {
    this.ws.send(encodeFrame(1, new Hello({ userId: identity.userId, devicePublicKey: identity.publicKey })));
    const challenge = (await this.nextFrame()).message as Challenge;
    this.ws.send(encodeFrame(2, new Proof(identity.proveOnConnection(challenge.nonce))));
    return ((await this.nextFrame()).message as Welcome).deviceState;
  }

  /** Sends `bytes` and checks the server closed with a malformed-frame ErrorFrame. */
  async expectRejected(bytes: Uint8Array | string, reason: RegExp, closeCode = 1002): Promise<void> {
    this.ws.send(bytes);
    const closed = await this.closed;
    assert.equal(closed.code, closeCode);
    const error = this.frames.map((f) => f.message).find((m) => m instanceof ErrorFrame);
    if (closeCode === 1002) {
      assert.ok(error instanceof ErrorFrame, 'an ErrorFrame explains the close');
      assert.equal(error.code, ErrorCode.malformed);
      assert.match(error.message, reason);
    }
  }
}

describe('malformed frames', () => {
  let h: Harness;
  before(async () => {
    h = await startChatd();
  });
  after(() => h.close());

  const hello = (userId: string) =>
    encodeFrame(1, new Hello({ userId, devicePublicKey: new Uint8Array(32).fill(7) }));

  const cases: Array<[string, Uint8Array | string, RegExp]> = [
    ['a text frame', 'hello', /text frames/],
    ['a frame shorter than its header', Uint8Array.of(1, 0, 0), /shorter than the 5-byte header/],
    ['an unknown type', Uint8Array.of(0x99, 0, 0, 0, 1), /type 0x99 is not a device message/],
    ['a server-only type from a device', encodeFrame(1, new Welcome(1)), /type 0x04 is not a device message/],
    ['a truncated hello', hello('zed').subarray(0, 20), /hello: device public key is truncated/],
    ['a hello with trailing bytes', Uint8Array.from([...hello('zed'), 0]), /1 unexpected trailing bytes/],
    [
      'a hello with a bad user id',
      Uint8Array.from([1, 0, 0, 0, 1, 1, 3, 0x7a, 0x20, 0x7a, ...new Uint8Array(32)]),
      /user id must be/,
    ],
    ['a request before the handshake', encodeFrame(1, new JoinCodeRequest()), /expected hello/],
  ];
  for (const [name, bytes, reason] of cases) {
    it(`closes on ${name}, creating nothing`, async () => {
      const session = await RawSession.open(h.server.url);
      await session.expectRejected(bytes, reason);
      const probe = await h.connect(DeviceIdentity.generate('zed'));
      assert.equal(probe.deviceState, DeviceState.unregistered);
    });
  }

  it('closes on a frame over the size limit (WebSocket close 1009)', async () => {
    const session = await RawSession.open(h.server.url);
    await session.expectRejected(new Uint8Array(MAX_FRAME_BYTES + 1), /./, 1009);
  });

  it('a malformed join submit costs no try of the code', async () => {
    const identity = DeviceIdentity.generate('yolanda');
    const first = await RawSession.open(h.server.url);
    assert.equal(await first.authenticate(identity), DeviceState.unregistered);
    first.ws.send(encodeFrame(3, new JoinCodeRequest()));
    await first.nextFrame();
    const code = h.sender.latest('yolanda');
    // The code field holds letters: the frame is malformed, so it is not checked against the code.
    const bad = encodeFrame(4, new JoinSubmit('12345678'));
    bad.set(new TextEncoder().encode('abcdefgh'), bad.length - 8);
    await first.expectRejected(bad, /code must be 4-12 decimal digits/);

    const second = await RawSession.open(h.server.url);
    await second.authenticate(identity);
    second.ws.send(encodeFrame(5, new JoinSubmit(code === '99999999' ? '99999998' : '99999999')));
    const wrong = (await second.nextFrame()).message as ErrorFrame;
    assert.equal(wrong.code, ErrorCode.wrongCode);
    assert.equal(wrong.detail, 2, 'only the well-formed wrong code cost a try');
    second.ws.send(encodeFrame(6, new JoinSubmit(code)));
    assert.equal(
      ((await second.nextFrame()).message as { deviceState: number }).deviceState,
      DeviceState.active,
    );
    second.ws.close();
  });

  it('closes on a vault request whose vault frame does not parse, relaying nothing', async () => {
    const identity = DeviceIdentity.generate('walter');
    await h.join('walter', identity);
    const session = await RawSession.open(h.server.url);
    assert.equal(await session.authenticate(identity), DeviceState.active);
    const before = h.captured.filter((c) => c.channel === 'vault-out').length;
    await session.expectRejected(
      Uint8Array.from([0x20, 0, 0, 0, 9, ...new TextEncoder().encode('not a vault frame')]),
      /vault request frame: bad magic/,
    );
    assert.equal(h.captured.filter((c) => c.channel === 'vault-out').length, before);
  });

  for (const [name, frames, reason] of [
    [
      'a chunk out of sequence',
      (id: number) => [encodeFrame(id, new BlobChunk(1, Uint8Array.of(1)))],
      /blob chunk 1 arrived, expected 0/,
    ],
    [
      'an end that declares the wrong size',
      (id: number) => [
        encodeFrame(id, new BlobChunk(0, Uint8Array.of(1, 2))),
        encodeFrame(id, new BlobEnd(3n)),
      ],
      /blob end declares 3 bytes but 2 arrived/,
    ],
  ] as const) {
    it(`closes on an upload with ${name}, storing nothing`, async () => {
      const identity = DeviceIdentity.generate(`uploader-${name.length}`);
      await h.join(identity.userId, identity);
      const session = await RawSession.open(h.server.url);
      await session.authenticate(identity);
      session.ws.send(encodeFrame(7, new BlobPut('partial.srb')));
      assert.ok((await session.nextFrame()).message instanceof Ok);
      const all = frames(7);
      for (const frame of all.slice(0, -1)) session.ws.send(frame);
      await session.expectRejected(all.at(-1)!, reason);
      const probe = await h.connect(identity);
      assert.deepEqual(await new ChatdBlobStore(probe).list(), []);
      const leftovers = readdirSync(join(h.dataDir, 'blobs'), { recursive: true }).filter((n) =>
        String(n).includes('upload'),
      );
      assert.deepEqual(leftovers, []);
    });
  }

  it('closes a connection that never finishes the handshake', async () => {
    const slow = await startChatd({ handshakeTimeoutMs: 100 });
    try {
      const session = await RawSession.open(slow.server.url);
      const closed = await session.closed;
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /handshake not completed in time/);
    } finally {
      await slow.close();
    }
  });
});
