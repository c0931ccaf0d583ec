// The frame envelope and the table of message types per direction (docs/PROTOCOL.md
// "ChatD: Frames"). Each WebSocket binary message is exactly one frame:
//
//   type u8 || requestId u32 (big-endian) || body
//
// The device picks request ids (non-zero, unique among its outstanding requests); every answer and
// every message of a blob transfer carries the id of the request it belongs to. Request id 0 marks
// what the server sends on its own (notifications, the reason for a close). A frame longer than
// MAX_FRAME_BYTES, of a type not allowed in its direction, or whose body does not parse is malformed.
import {
  AccountInfo,
  AccountInfoRequest,
  DecideDevice,
  ReportActivity,
  SetRequireApproval,
} from './account.ts';
import { BackupAdd, BackupList, BackupListRequest, BackupRemove } from './backups.ts';
import {
  BlobChunk,
  BlobChunkAck,
  BlobDelete,
  BlobEnd,
  BlobGet,
  BlobList,
  BlobListRequest,
  BlobPut,
  BlobStored,
} from './blobs.ts';
import { ErrorFrame, Ok } from './errors.ts';
import { Challenge, Hello, Proof, Welcome } from './handshake.ts';
import { JoinCodeRequest, JoinCodeSent, Joined, JoinSubmit } from './join.ts';
import { type ChatdMessage, MAX_FRAME_BYTES, type MessageClass } from './message.ts';
import { Notification } from './notification.ts';
import { VaultRequest, VaultResponse } from './vault-relay.ts';
import { ByteWriter, check, MalformedFrameError } from './wire.ts';

export const FRAME_HEADER_BYTES = 5;

/** Messages a device sends. */
export type ClientMessage =
  | Hello
  | Proof
  | JoinCodeRequest
  | JoinSubmit
  | VaultRequest
  | BackupListRequest
  | BackupAdd
  | BackupRemove
  | BlobPut
  | BlobChunk
  | BlobChunkAck
  | BlobEnd
  | BlobGet
  | BlobListRequest
  | BlobDelete
  | AccountInfoRequest
  | SetRequireApproval
  | DecideDevice
  | ReportActivity;

/** Messages the server sends. */
export type ServerMessage =
  | Challenge
  | Welcome
  | JoinCodeSent
  | Joined
  | VaultResponse
  | BackupList
  | BlobChunk
  | BlobChunkAck
  | BlobEnd
  | BlobStored
  | BlobList
  | AccountInfo
  | Notification
  | Ok
  | ErrorFrame;

function table<M extends ChatdMessage>(classes: MessageClass<M>[]): ReadonlyMap<number, MessageClass<M>> {
  return new Map(classes.map((c) => [c.TYPE, c]));
}

const CLIENT_TYPES = table<ClientMessage>([
  Hello,
  Proof,
  JoinCodeRequest,
  JoinSubmit,
  VaultRequest,
  BackupListRequest,
  BackupAdd,
  BackupRemove,
  BlobPut,
  BlobChunk,
  BlobChunkAck,
  BlobEnd,
  BlobGet,
  BlobListRequest,
  BlobDelete,
  AccountInfoRequest,
  SetRequireApproval,
  DecideDevice,
  ReportActivity,
]);

const SERVER_TYPES = table<ServerMessage>([
  Challenge,
  Welcome,
  JoinCodeSent,
  Joined,
  VaultResponse,
  BackupList,
  BlobChunk,
  BlobChunkAck,
  BlobEnd,
  BlobStored,
  BlobList,
  AccountInfo,
  Notification,
  Ok,
  ErrorFrame,
]);

export interface Frame<M> {
  readonly requestId: number;
  readonly message: M;
}

export function encodeFrame(requestId: number, message: ChatdMessage): Uint8Array {
  check(
    Number.isInteger(requestId) && requestId >= 0 && requestId <= 0xffffffff,
    'frame',
    'request id must be a u32',
  );
  const frame = new ByteWriter().u8(message.type).u32(requestId).bytes(message.serialize()).finish();
  check(frame.length <= MAX_FRAME_BYTES, 'frame', `longer than ${MAX_FRAME_BYTES} bytes`);
  return frame;
}

function decode<M>(
  bytes: Uint8Array,
  types: ReadonlyMap<number, MessageClass<M & ChatdMessage>>,
  direction: string,
): Frame<M> {
  if (!(bytes instanceof Uint8Array)) throw new MalformedFrameError('not a binary frame');
  check(
    bytes.length >= FRAME_HEADER_BYTES,
    'frame',
    `${bytes.length} bytes is shorter than the 5-byte header`,
  );
  check(bytes.length <= MAX_FRAME_BYTES, 'frame', `longer than ${MAX_FRAME_BYTES} bytes`);
  const type = bytes[0]!;
  const messageClass = types.get(type);
  if (messageClass === undefined) {
    throw new MalformedFrameError(
      `type 0x${type.toString(16).padStart(2, '0')} is not a ${direction} message`,
    );
  }
  const requestId = new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getUint32(0);
  return { requestId, message: messageClass.deserialize(bytes.subarray(FRAME_HEADER_BYTES)) };
}

/** Parses a frame a device sent (ChatD side). Throws MalformedFrameError. */
export function decodeClientFrame(bytes: Uint8Array): Frame<ClientMessage> {
  return decode<ClientMessage>(bytes, CLIENT_TYPES, 'device');
}

/** Parses a frame the server sent (device side). Throws MalformedFrameError. */
export function decodeServerFrame(bytes: Uint8Array): Frame<ServerMessage> {
  return decode<ServerMessage>(bytes, SERVER_TYPES, 'server');
}
