// Which vault record belongs to which account (docs/PROTOCOL.md "ChatD: Vault relay";
// docs/CHATD.md "Vault relay": ChatD binds each record to its account). The record id is derived from the fleet id
// and the user id, so device and ChatD compute it alike and ChatD needs no binding table: it
// relays a vault frame only when the frame's clear record id is the account's. Record ids are not
// secret (the operator knows which records exist); what protects a record is its password.
//
//   recordId = SHA-256("strongroom/v1/chatd-record-id" || fleetId (16) || userIdLen u8 || userId)
import { sha256 } from '@noble/hashes/sha2.js';
import { checkBytes, checkUserId } from './message.ts';
import { ByteWriter } from './wire.ts';

export const RECORD_ID_LABEL = 'strongroom/v1/chatd-record-id';
const FLEET_ID_BYTES = 16;

/** The vault record id of `userId`'s account on fleet `fleetId` (32 bytes). */
export function recordIdFor(fleetId: Uint8Array, userId: string): Uint8Array {
  checkBytes('record id', 'fleet id', fleetId, FLEET_ID_BYTES);
  checkUserId('record id', userId);
  return sha256(
    new ByteWriter().bytes(new TextEncoder().encode(RECORD_ID_LABEL)).bytes(fleetId).string8(userId).finish(),
  );
}
