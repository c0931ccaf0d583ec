// Shared shape and field rules of every ChatD message (docs/PROTOCOL.md "ChatD: Message types").
import { check } from './wire.ts';

/** One ChatD message: a type byte and a body with exactly one encoding. */
export interface ChatdMessage {
  /** The frame type byte (docs/PROTOCOL.md "ChatD: Message types"). */
  readonly type: number;
  /** The body bytes, without the frame envelope. */
  serialize(): Uint8Array;
}

/** A message class: its type byte and its body decoder. */
export interface MessageClass<M extends ChatdMessage> {
  readonly TYPE: number;
  deserialize(body: Uint8Array): M;
}

/**
 * A request names the class of its one successful answer, so `request(msg)` returns that type
 * (docs/PROTOCOL.md "ChatD: Message types", the answer column). Any request may instead get an ErrorFrame.
 */
export interface ChatdRequest<R extends ChatdMessage> extends ChatdMessage {
  readonly responseType: MessageClass<R>;
}

/** Protocol version carried in Hello; a server refuses versions it does not speak. */
export const CHATD_PROTOCOL_VERSION = 1;

/** Largest WebSocket message either side accepts: a blob chunk or a vault frame plus envelope. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Largest blob chunk; uploads and downloads are streamed in chunks of at most this size. */
export const MAX_BLOB_CHUNK_BYTES = 256 * 1024;
/** Largest relayed vault frame (requests and responses are a few KiB; this leaves room). */
export const MAX_VAULT_FRAME_BYTES = 64 * 1024;
/** Chunks a sender may have unacknowledged: bounds memory on both sides while keeping the pipe full. */
export const BLOB_WINDOW = 4;

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * User ids: ASCII letters, digits and `+._@-`, 1–64 characters (a phone number, an e-mail-like
 * name). No spaces, so the development code sender's `code USER CODE` line splits unambiguously,
 * and nothing a log or terminal would interpret.
 */
const USER_ID_PATTERN = /^[A-Za-z0-9+._@-]{1,64}$/;
/** Blob names and backup ids: safe as file names (no `/`, no leading dot), 1–200 characters (as checkBlobName in src/stores/blob). */
const NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export function checkUserId(what: string, userId: string): string {
  check(
    typeof userId === 'string' && USER_ID_PATTERN.test(userId),
    what,
    'user id must be 1-64 of A-Z a-z 0-9 + . _ @ -',
  );
  return userId;
}

export function checkName(what: string, name: string): string {
  check(
    typeof name === 'string' && NAME_PATTERN.test(name),
    what,
    'name must be 1-200 of A-Z a-z 0-9 . _ - not starting with a dot',
  );
  return name;
}

export function checkBytes(what: string, field: string, bytes: Uint8Array, length: number): Uint8Array {
  check(bytes instanceof Uint8Array && bytes.length === length, what, `${field} must be ${length} bytes`);
  return Uint8Array.from(bytes);
}

export function checkUint(what: string, field: string, value: number, max: number): number {
  check(
    Number.isInteger(value) && value >= 0 && value <= max,
    what,
    `${field} must be an integer from 0 to ${max}`,
  );
  return value;
}

export function checkU64(what: string, field: string, value: bigint): bigint {
  check(typeof value === 'bigint' && value >= 0n && value < 1n << 64n, what, `${field} must be a uint64`);
  return value;
}

/** A body that must be empty (requests that carry nothing but their type). */
export function checkEmpty(what: string, body: Uint8Array): void {
  check(body.length === 0, what, `${body.length} unexpected bytes`);
}
