// Every ChatD message round-trips through the frame envelope with exactly one encoding, and
// truncated or extended bodies are malformed (src/protocol/chatd; docs/PROTOCOL.md "ChatD: Encoding"). The
// signed handshake transcript and the record id derivation are pinned to the documented layouts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import * as P from '../../../src/protocol/chatd/index.ts';

const key = (fill: number) => new Uint8Array(32).fill(fill);
const entry = new P.BackupEntry({
  id: 'b-1',
  size: 10n,
  createdAtMs: 1_700_000_000_000n,
  location: 's3://bucket/p',
});

/** Messages whose body ends with a variable-length "rest" field: a shorter body is still valid. */
const REST_BODIES = new Set([P.VaultRequest.TYPE, P.VaultResponse.TYPE, P.BlobChunk.TYPE]);

const clientMessages: P.ClientMessage[] = [
  new P.Hello({ userId: '+15550001', devicePublicKey: key(1) }),
  new P.Proof(new Uint8Array(64).fill(2)),
  new P.JoinCodeRequest(),
  new P.JoinSubmit('12345678'),
  new P.VaultRequest(Uint8Array.of(1, 2, 3)),
  new P.BackupListRequest(),
  new P.BackupAdd(entry),
  new P.BackupRemove('b-1'),
  new P.BlobPut('blob.srb'),
  new P.BlobChunk(7, Uint8Array.of(9, 9)),
  new P.BlobChunkAck(7),
  new P.BlobEnd(2n),
  new P.BlobGet('blob.srb'),
  new P.BlobListRequest('b-'),
  new P.BlobListRequest('b-', 'b-7'),
  new P.BlobListRequest('', 'x'),
  new P.BlobDelete('blob.srb'),
  new P.AccountInfoRequest(),
  new P.SetRequireApproval(true),
  new P.DecideDevice(key(3), false),
  new P.ReportActivity(P.NotificationKind.recovered, 3),
];

const serverMessages: P.ServerMessage[] = [
  new P.Challenge(key(4)),
  new P.Welcome(P.DeviceState.pending),
  new P.JoinCodeSent({ expiresInSeconds: 600, codeLength: 8 }),
  new P.Joined(P.DeviceState.active),
  new P.VaultResponse(Uint8Array.of(4, 5)),
  new P.BackupList([entry, entry]),
  new P.BlobStored(2n),
  new P.BlobList([{ name: 'a', size: 1n, modifiedMs: 2n }]),
  new P.AccountInfo({
    requireApproval: true,
    quotaBytes: 100n,
    usedBytes: 5n,
    devices: [{ publicKey: key(5), state: P.DeviceState.active, joinedAtMs: 9n }],
  }),
  new P.Notification({
    id: 3,
    kind: P.NotificationKind.guessesSpent,
    atMs: 1n,
    subjectDevice: key(6),
    count: 1,
  }),
  new P.Ok(),
  new P.ErrorFrame({ code: P.ErrorCode.rateLimited, detail: 1500, message: 'too many' }),
];

function checkRoundTrip(message: P.ChatdMessage, decode: (b: Uint8Array) => P.Frame<P.ChatdMessage>) {
  const frame = P.encodeFrame(42, message);
  const decoded = decode(frame);
  assert.equal(decoded.requestId, 42);
  assert.equal(decoded.message.constructor, message.constructor);
  assert.deepEqual(P.encodeFrame(42, decoded.message), frame, 're-encoding gives the same bytes');
  if (!REST_BODIES.has(message.type)) {
    assert.throws(() => decode(Uint8Array.from([...frame, 0])), P.MalformedFrameError, 'trailing byte');
    if (frame.length > P.FRAME_HEADER_BYTES) {
      assert.throws(() => decode(frame.subarray(0, frame.length - 1)), P.MalformedFrameError, 'truncated');
    }
  }
}

describe('ChatD messages', () => {
  for (const message of clientMessages) {
    it(`device message ${message.constructor.name} round-trips`, () =>
      checkRoundTrip(message, P.decodeClientFrame));
  }
  for (const message of serverMessages) {
    it(`server message ${message.constructor.name} round-trips`, () =>
      checkRoundTrip(message, P.decodeServerFrame));
  }

  it('rejects bad sizes in constructors', () => {
    assert.throws(() => new P.Hello({ userId: 'has space', devicePublicKey: key(1) }), P.MalformedFrameError);
    assert.throws(
      () => new P.Hello({ userId: 'ok', devicePublicKey: new Uint8Array(31) }),
      P.MalformedFrameError,
    );
    assert.throws(() => new P.Proof(new Uint8Array(63)), P.MalformedFrameError);
    assert.throws(() => new P.JoinSubmit('12a4'), P.MalformedFrameError);
    assert.throws(() => new P.VaultRequest(new Uint8Array(0)), P.MalformedFrameError);
    assert.throws(
      () => new P.VaultRequest(new Uint8Array(P.MAX_VAULT_FRAME_BYTES + 1)),
      P.MalformedFrameError,
    );
    assert.throws(
      () => new P.BlobChunk(0, new Uint8Array(P.MAX_BLOB_CHUNK_BYTES + 1)),
      P.MalformedFrameError,
    );
    assert.throws(() => new P.BlobPut('../etc/passwd'), P.MalformedFrameError);
    assert.throws(() => new P.BlobPut('.hidden'), P.MalformedFrameError);
    assert.throws(() => new P.Joined(P.DeviceState.unregistered), P.MalformedFrameError);
    assert.throws(() => new P.ErrorFrame({ code: 99 as P.ErrorCode, message: '' }), P.MalformedFrameError);
  });

  it('rejects frames of the wrong direction', () => {
    assert.throws(
      () => P.decodeServerFrame(P.encodeFrame(1, new P.Hello({ userId: 'a', devicePublicKey: key(1) }))),
      /not a server message/,
    );
    assert.throws(() => P.decodeClientFrame(P.encodeFrame(1, new P.Ok())), /not a device message/);
  });
});

describe('signed and derived bytes', () => {
  const nonce = Uint8Array.from({ length: 32 }, (_, i) => i);

  it('the auth transcript is label || nonce || len || user id || device key', () => {
    const transcript = P.authTranscript(nonce, 'alice', key(0xff));
    const expected = Buffer.concat([
      Buffer.from('strongroom/v1/chatd-auth'),
      nonce,
      Buffer.from([5]),
      Buffer.from('alice'),
      key(0xff),
    ]);
    assert.deepEqual(Buffer.from(transcript), expected);
    // Snapshot: a change to this layout must show in review.
    assert.equal(
      createHash('sha256').update(transcript).digest('hex'),
      'b303b9cf0d487b627e8b5f1c5bbc36331ae068074e3da732e450f422703fd481',
    );
    assert.equal(P.AUTH_LABEL, 'strongroom/v1/chatd-auth');
  });

  it('the record id is SHA-256 of label || fleet id || len || user id', () => {
    const fleetId = Uint8Array.from({ length: 16 }, (_, i) => i);
    const expected = createHash('sha256')
      .update('strongroom/v1/chatd-record-id')
      .update(fleetId)
      .update(Buffer.from([5]))
      .update('alice')
      .digest();
    assert.deepEqual(Buffer.from(P.recordIdFor(fleetId, 'alice')), expected);
    assert.equal(
      expected.toString('hex'),
      '47578bec8878835ffb37f292f24c989dcabf6b186ef08b1a64b79ed2bc0779e2',
    );
    assert.notDeepEqual(P.recordIdFor(fleetId, 'alice'), P.recordIdFor(fleetId, 'alicf'));
  });
});
