// One device connection to ChatD (docs/PROTOCOL.md "15. ChatD protocol"; docs/CHATD.md): the handshake state
// machine, what each device state may do, and the dispatch of every request. A malformed or
// out-of-order frame closes the connection with an ErrorFrame saying why, before anything changes.
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import type { WebSocket } from 'ws';
import { UnavailableError } from '../errors.ts';
import {
  AccountInfo,
  AccountInfoRequest,
  DecideDevice,
  MAX_DEVICES,
  ReportActivity,
  SetRequireApproval,
} from '../protocol/chatd/account.ts';
import {
  BackupAdd,
  BackupEntry,
  BackupList,
  BackupListRequest,
  BackupRemove,
  MAX_BACKUP_ENTRIES,
} from '../protocol/chatd/backups.ts';
import {
  BlobChunk,
  BlobChunkAck,
  BlobDelete,
  BlobEnd,
  BlobGet,
  BlobList,
  BlobListRequest,
  BlobPut,
  MAX_BLOB_LIST_ENTRIES,
} from '../protocol/chatd/blobs.ts';
import { ErrorCode, ErrorFrame, Ok } from '../protocol/chatd/errors.ts';
import { type ClientMessage, decodeClientFrame, encodeFrame } from '../protocol/chatd/frame.ts';
import {
  authTranscript,
  CHALLENGE_NONCE_BYTES,
  Challenge,
  DeviceState,
  Hello,
  Proof,
  Welcome,
} from '../protocol/chatd/handshake.ts';
import { JoinCodeRequest, JoinCodeSent, Joined, JoinSubmit } from '../protocol/chatd/join.ts';
import { CHATD_PROTOCOL_VERSION, type ChatdMessage } from '../protocol/chatd/message.ts';
import { type Notification, NotificationKind } from '../protocol/chatd/notification.ts';
import { recordIdFor } from '../protocol/chatd/record-id.ts';
import { VaultRequest, VaultResponse } from '../protocol/chatd/vault-relay.ts';
import { MalformedFrameError } from '../protocol/chatd/wire.ts';
import { VaultOp, VaultRequestFrame } from '../protocol/vault/frames.ts';
import { AccountFullError, type AccountRow } from './account-store.ts';
import { BlobTransfers } from './blob-transfers.ts';
import type { ChatdContext } from './context.ts';
import type { DeviceLink } from './notifier.ts';
import { RequestError } from './request-error.ts';
import type { RelayedAnswer } from './vault-relay.ts';

/** WebSocket close codes (RFC 6455 section 7.4.1). */
const CLOSE_PROTOCOL_ERROR = 1002;
const CLOSE_POLICY_VIOLATION = 1008;

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function signatureValid(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

const keyTag = (key: Uint8Array) => Buffer.from(key.subarray(0, 8)).toString('hex');

export class ChatdConnection implements DeviceLink {
  private phase: 'hello' | 'proof' | 'ready' | 'closed' = 'hello';
  private userId = '';
  private publicKey: Uint8Array = new Uint8Array(0);
  private nonce: Uint8Array = new Uint8Array(0);
  private account: AccountRow | undefined;
  private state: DeviceState = DeviceState.unregistered;
  private readonly transfers: BlobTransfers;
  private readonly handshakeTimer: NodeJS.Timeout;

  constructor(
    private readonly ctx: ChatdContext,
    private readonly socket: WebSocket,
    private readonly address: string,
  ) {
    this.handshakeTimer = setTimeout(
      () => this.fail(ErrorCode.unauthenticated, 'handshake not completed in time', CLOSE_POLICY_VIOLATION),
      ctx.handshakeTimeoutMs,
    );
    this.transfers = new BlobTransfers(ctx.blobs, {
      send: (requestId, message) => this.send(requestId, message),
      answerError: (requestId, error) => this.answerError(requestId, error),
    });
    socket.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    socket.on('close', () => this.closed());
    socket.on('error', () => this.closed());
  }

  get accountId(): number {
    return this.account!.id;
  }

  get devicePublicKey(): Uint8Array {
    return this.publicKey;
  }

  push(notification: Notification): void {
    this.send(0, notification);
  }

  disconnect(reason: string): void {
    this.fail(ErrorCode.unauthenticated, reason, CLOSE_POLICY_VIOLATION);
  }

  private send(requestId: number, message: ChatdMessage): void {
    if (this.phase === 'closed') return;
    const frame = encodeFrame(requestId, message);
    this.ctx.capture?.('device-out', frame);
    this.socket.send(frame);
  }

  /** Sends the reason and closes; nothing the offending frame asked for has been done. */
  private fail(code: ErrorCode, message: string, closeCode: number): void {
    if (this.phase === 'closed') return;
    this.send(0, new ErrorFrame({ code, message }));
    this.ctx.logger.info(
      { address: this.address, user: this.userId || undefined, reason: message },
      'closing connection',
    );
    this.socket.close(closeCode, message.slice(0, 120));
    this.closed();
  }

  private closed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    if (this.account !== undefined && this.state !== DeviceState.unregistered) this.ctx.notifier.detach(this);
    this.transfers.closeAll();
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.ctx.capture?.('device-in', bytes);
    if (!isBinary) {
      this.fail(
        ErrorCode.malformed,
        'malformed frame: text frames are not part of the protocol',
        CLOSE_PROTOCOL_ERROR,
      );
      return;
    }
    let requestId: number;
    let message: ClientMessage;
    try {
      ({ requestId, message } = decodeClientFrame(bytes));
    } catch (error) {
      const text = error instanceof MalformedFrameError ? error.message : 'malformed frame';
      this.fail(ErrorCode.malformed, text, CLOSE_PROTOCOL_ERROR);
      return;
    }
    this.dispatch(requestId, message).catch((error: unknown) => this.answerError(requestId, error));
  }

  private answerError(requestId: number, error: unknown): void {
    if (error instanceof RequestError) {
      this.send(
        requestId,
        new ErrorFrame({ code: error.code, message: error.message, detail: error.detail }),
      );
    } else if (error instanceof MalformedFrameError) {
      this.fail(ErrorCode.malformed, error.message, CLOSE_PROTOCOL_ERROR);
    } else {
      this.ctx.logger.error({ err: error, user: this.userId }, 'request failed');
      this.send(
        requestId,
        new ErrorFrame({ code: ErrorCode.unavailable, message: 'ChatD could not complete the request' }),
      );
    }
  }

  private async dispatch(requestId: number, m: ClientMessage): Promise<void> {
    if (this.phase === 'hello') {
      if (!(m instanceof Hello)) throw new MalformedFrameError('expected hello');
      return this.hello(requestId, m);
    }
    if (this.phase === 'proof') {
      if (!(m instanceof Proof)) throw new MalformedFrameError('expected proof');
      return this.proof(requestId, m);
    }
    if (requestId === 0) throw new MalformedFrameError('request id 0 is reserved for the server');
    if (m instanceof Hello || m instanceof Proof) throw new MalformedFrameError('already authenticated');
    if (m instanceof JoinCodeRequest) return this.requestCode(requestId);
    if (m instanceof JoinSubmit) return this.submitCode(requestId, m);
    await this.requireState(m);
    if (m instanceof AccountInfoRequest) return this.send(requestId, await this.accountInfo());
    if (m instanceof VaultRequest) return this.relay(requestId, m);
    if (m instanceof BackupListRequest) return this.listBackups(requestId);
    if (m instanceof BackupAdd) return this.addBackup(requestId, m.entry);
    if (m instanceof BackupRemove) return this.removeBackup(requestId, m);
    if (m instanceof BlobPut) return this.transfers.beginUpload(this.accountId, requestId, m);
    if (m instanceof BlobChunk) return this.transfers.chunk(requestId, m);
    if (m instanceof BlobEnd) return this.transfers.endUpload(requestId, m);
    if (m instanceof BlobGet) return this.transfers.download(this.accountId, requestId, m);
    if (m instanceof BlobChunkAck) return this.transfers.ack(requestId, m);
    if (m instanceof BlobListRequest) return this.listBlobs(requestId, m);
    if (m instanceof BlobDelete) return this.deleteBlob(requestId, m);
    if (m instanceof SetRequireApproval) return this.setRequireApproval(requestId, m);
    if (m instanceof DecideDevice) return this.decideDevice(requestId, m);
    if (m instanceof ReportActivity) return this.report(requestId, m);
  }

  /** Unregistered devices may only join; pending devices may only read their account info. */
  private async requireState(m: ClientMessage): Promise<void> {
    if (this.state === DeviceState.unregistered) {
      throw new RequestError(
        ErrorCode.unauthenticated,
        `device is not registered for user ${this.userId}; join first`,
      );
    }
    await this.refreshState();
    if (this.state === DeviceState.pending && !(m instanceof AccountInfoRequest)) {
      throw new RequestError(
        ErrorCode.approvalRequired,
        'this device waits for approval by another device of the account',
      );
    }
  }

  // ── handshake ───────────────────────────────────────────────────────────────────────────────

  private async hello(requestId: number, m: Hello): Promise<void> {
    if (m.version !== CHATD_PROTOCOL_VERSION)
      throw new MalformedFrameError(`protocol version ${m.version} is not supported`);
    const wait = await this.ctx.limiters.connectionsPerAddress.take(this.address);
    if (wait > 0) {
      this.send(
        requestId,
        new ErrorFrame({ code: ErrorCode.rateLimited, detail: wait, message: 'too many connections' }),
      );
      this.socket.close(CLOSE_POLICY_VIOLATION, 'rate limited');
      this.closed();
      return;
    }
    this.userId = m.userId;
    this.publicKey = m.devicePublicKey;
    this.nonce = randomBytes(CHALLENGE_NONCE_BYTES);
    this.phase = 'proof';
    this.send(requestId, new Challenge(this.nonce));
  }

  private async proof(requestId: number, m: Proof): Promise<void> {
    const transcript = authTranscript(this.nonce, this.userId, this.publicKey);
    if (!signatureValid(this.publicKey, transcript, m.signature)) {
      this.send(
        requestId,
        new ErrorFrame({ code: ErrorCode.unauthenticated, message: 'device signature does not verify' }),
      );
      this.fail(ErrorCode.unauthenticated, 'device signature does not verify', CLOSE_POLICY_VIOLATION);
      return;
    }
    // A store that does not answer leaves the connection in 'proof': the device is told
    // "unavailable" and may send its proof again.
    const account = await this.ctx.store.account(this.userId);
    const device = account && (await this.ctx.store.device(account.id, this.publicKey));
    clearTimeout(this.handshakeTimer);
    this.phase = 'ready';
    this.account = account;
    this.state = device?.state ?? DeviceState.unregistered;
    if (this.state !== DeviceState.unregistered) await this.refreshState();
    this.ctx.logger.info(
      { user: this.userId, device: keyTag(this.publicKey), state: this.state },
      'device authenticated',
    );
    this.send(requestId, new Welcome(this.state));
    if (device !== undefined) await this.ctx.notifier.attach(this, device.lastNotification);
  }

  /** A pending device nobody decided on within the approval wait becomes active (docs/CHATD.md "Approval"). */
  private async refreshState(): Promise<void> {
    if (this.state !== DeviceState.pending || this.account === undefined) return;
    const device = await this.ctx.store.device(this.account.id, this.publicKey);
    if (device === undefined) {
      this.state = DeviceState.unregistered;
      return;
    }
    this.state = device.state;
    if (this.state !== DeviceState.pending) return;
    // Only if still pending in the store: another ChatD may have decided on it meanwhile.
    const waitedUntil = this.ctx.now() - this.ctx.approvalWaitMs;
    if (await this.ctx.store.activate(this.account.id, this.publicKey, waitedUntil)) {
      this.state = DeviceState.active;
      await this.ctx.notifier.publish(this.account.id, {
        kind: NotificationKind.deviceApproved,
        subject: this.publicKey,
      });
    }
  }

  // ── join ────────────────────────────────────────────────────────────────────────────────────

  private async limit(limiter: keyof ChatdContext['limiters'], key: string, what: string): Promise<void> {
    const wait = await this.ctx.limiters[limiter].take(key);
    if (wait > 0) {
      this.ctx.logger.warn({ user: this.userId, address: this.address, limiter }, 'rate limited');
      throw new RequestError(
        ErrorCode.rateLimited,
        `too many ${what}; retry in ${Math.ceil(wait / 1000)} s`,
        wait,
      );
    }
  }

  private async requestCode(requestId: number): Promise<void> {
    if (this.state !== DeviceState.unregistered)
      throw new RequestError(ErrorCode.forbidden, 'this device has already joined');
    await this.limit('joinCodesPerAddress', this.address, 'join codes from this address');
    await this.limit('joinCodesPerUser', this.userId, `join codes for ${this.userId}`);
    const code = await this.ctx.joinCodes.issue(this.userId, this.publicKey);
    try {
      await this.ctx.codeSender.send(this.userId, code);
    } catch (error) {
      this.ctx.logger.error({ err: error, user: this.userId }, 'code sender failed');
      throw new RequestError(ErrorCode.unavailable, 'the join code could not be sent');
    }
    this.ctx.logger.info({ user: this.userId, device: keyTag(this.publicKey) }, 'join code sent');
    const { ttlMs, digits } = this.ctx.joinCodes.policy;
    this.send(
      requestId,
      new JoinCodeSent({ expiresInSeconds: Math.floor(ttlMs / 1000), codeLength: digits }),
    );
  }

  private async submitCode(requestId: number, m: JoinSubmit): Promise<void> {
    if (this.state !== DeviceState.unregistered)
      throw new RequestError(ErrorCode.forbidden, 'this device has already joined');
    const result = await this.ctx.joinCodes.check(this.userId, this.publicKey, m.code);
    if (result.outcome === 'expired') {
      throw new RequestError(ErrorCode.codeExpired, 'no valid join code for this device: request a new one');
    }
    if (result.outcome === 'wrong') {
      this.ctx.logger.warn({ user: this.userId, device: keyTag(this.publicKey) }, 'wrong join code');
      const tries = `${result.triesLeft} tr${result.triesLeft === 1 ? 'y' : 'ies'} left`;
      throw new RequestError(ErrorCode.wrongCode, `wrong join code (${tries})`, result.triesLeft);
    }
    let joined: { account: AccountRow; state: DeviceState };
    try {
      joined = await this.ctx.store.join(this.userId, this.publicKey, this.ctx.now(), MAX_DEVICES);
    } catch (error) {
      if (error instanceof AccountFullError) throw new RequestError(ErrorCode.forbidden, error.message);
      throw error;
    }
    const { account, state } = joined;
    this.account = account;
    this.state = state;
    this.ctx.logger.info({ user: this.userId, device: keyTag(this.publicKey), state }, 'device joined');
    const kind =
      state === DeviceState.pending ? NotificationKind.deviceJoinedPending : NotificationKind.deviceJoined;
    // The device has seen its own join; no second read of the store is needed (a store that
    // fails right now must not leave the connection without notifications).
    const seen = await this.ctx.notifier.publish(
      account.id,
      { kind, subject: this.publicKey },
      this.publicKey,
    );
    this.send(requestId, new Joined(state));
    await this.ctx.notifier.attach(this, seen);
  }

  // ── vault relay ─────────────────────────────────────────────────────────────────────────────

  private async relay(requestId: number, m: VaultRequest): Promise<void> {
    await this.limit('vaultPerAddress', this.address, 'vault requests from this address');
    await this.limit('vaultPerAccount', String(this.accountId), 'vault requests for this account');
    // Only the clear routing header is read: the fleet and the record this frame is for. A header
    // that does not parse throws MalformedFrameError, which closes the connection.
    const header = VaultRequestFrame.deserialize(m.frame);
    const fleetKnown = this.ctx.fleetIds.some((id) => Buffer.from(id).equals(header.fleetId));
    if (!fleetKnown)
      throw new RequestError(ErrorCode.forbidden, 'this server relays no vault with that fleet id');
    if (!Buffer.from(recordIdFor(header.fleetId, this.userId)).equals(header.recordId)) {
      this.ctx.logger.warn(
        { user: this.userId, device: keyTag(this.publicKey) },
        'vault frame for another record',
      );
      throw new RequestError(ErrorCode.forbidden, "the vault record is not this account's");
    }
    this.ctx.capture?.('vault-out', m.frame);
    let answer: RelayedAnswer;
    try {
      answer = await this.ctx.relay.relay(m.frame);
    } catch (error) {
      if (error instanceof UnavailableError) throw new RequestError(ErrorCode.unavailable, error.message);
      throw error;
    }
    this.ctx.capture?.('vault-in', answer.frame);
    this.send(requestId, new VaultResponse(answer.frame));
    this.ctx.logger.info({ user: this.userId, op: VaultOp[header.op] }, 'vault frame relayed');
    // Guesses are announced as the vault host's hint counts them (docs/CHATD.md "Notifications"):
    // ChatD cannot tell a spend from a retry or a "locked" answer in a sealed frame. The hint is
    // the operator's own word and only ever feeds an announcement.
    const spent = answer.activity?.guessesSpent ?? 0;
    if (spent > 0) {
      const event = { kind: NotificationKind.guessesSpent, subject: this.publicKey, count: spent };
      await this.ctx.notifier.publish(this.accountId, event, this.publicKey);
    }
  }

  // ── backup list ─────────────────────────────────────────────────────────────────────────────

  private async listBackups(requestId: number): Promise<void> {
    const entries = (await this.ctx.store.backups(this.accountId)).map(
      (b) =>
        new BackupEntry({
          id: b.id,
          size: BigInt(b.size),
          createdAtMs: BigInt(b.createdAtMs),
          location: b.location,
        }),
    );
    this.send(requestId, new BackupList(entries));
  }

  private async addBackup(requestId: number, entry: BackupEntry): Promise<void> {
    const row = {
      id: entry.id,
      size: Number(entry.size),
      createdAtMs: Number(entry.createdAtMs),
      location: entry.location,
    };
    if (!(await this.ctx.store.putBackup(this.accountId, row, MAX_BACKUP_ENTRIES))) {
      throw new RequestError(
        ErrorCode.quotaExceeded,
        `the account lists ${MAX_BACKUP_ENTRIES} backups already`,
      );
    }
    this.send(requestId, new Ok());
  }

  private async removeBackup(requestId: number, m: BackupRemove): Promise<void> {
    if (!(await this.ctx.store.removeBackup(this.accountId, m.id)))
      throw new RequestError(ErrorCode.notFound, `no backup ${m.id}`);
    this.send(requestId, new Ok());
  }

  // ── blobs ───────────────────────────────────────────────────────────────────────────────────

  private async listBlobs(requestId: number, m: BlobListRequest): Promise<void> {
    // Rows come sorted by name; a listing longer than one frame is paged by `after`
    // (docs/PROTOCOL.md "ChatD: Blobs"), as a repository's many objects need.
    const after = m.after;
    const rows = (await this.ctx.store.blobs(this.accountId, m.prefix))
      .filter((r) => after === undefined || r.name > after)
      .slice(0, MAX_BLOB_LIST_ENTRIES);
    this.send(
      requestId,
      new BlobList(
        rows.map((r) => ({ name: r.name, size: BigInt(r.size), modifiedMs: BigInt(r.modifiedMs) })),
      ),
    );
  }

  private async deleteBlob(requestId: number, m: BlobDelete): Promise<void> {
    if (!(await this.ctx.blobs.delete(this.accountId, m.name)))
      throw new RequestError(ErrorCode.notFound, `no blob ${m.name}`);
    this.send(requestId, new Ok());
  }

  // ── account ─────────────────────────────────────────────────────────────────────────────────

  private async accountInfo(): Promise<AccountInfo> {
    const account = (await this.ctx.store.account(this.userId))!;
    return new AccountInfo({
      requireApproval: account.requireApproval,
      quotaBytes: BigInt(this.ctx.blobs.quotaBytes),
      usedBytes: BigInt(await this.ctx.blobs.usedBytes(account.id)),
      devices: (await this.ctx.store.devices(account.id)).map((d) => ({
        publicKey: d.publicKey,
        state: d.state,
        joinedAtMs: BigInt(d.joinedAtMs),
      })),
    });
  }

  private async setRequireApproval(requestId: number, m: SetRequireApproval): Promise<void> {
    await this.ctx.store.setRequireApproval(this.accountId, m.requireApproval);
    this.ctx.logger.info(
      { user: this.userId, requireApproval: m.requireApproval },
      'account setting changed',
    );
    this.send(requestId, new Ok());
  }

  private async decideDevice(requestId: number, m: DecideDevice): Promise<void> {
    if (Buffer.from(m.devicePublicKey).equals(this.publicKey)) {
      throw new RequestError(ErrorCode.forbidden, 'a device cannot decide on itself');
    }
    const target = await this.ctx.store.device(this.accountId, m.devicePublicKey);
    if (target === undefined) throw new RequestError(ErrorCode.notFound, 'no such device in this account');
    if (m.approve) {
      if (!(await this.ctx.store.activate(this.accountId, m.devicePublicKey)))
        throw new RequestError(ErrorCode.notFound, 'that device is not pending');
      await this.ctx.notifier.publish(
        this.accountId,
        { kind: NotificationKind.deviceApproved, subject: m.devicePublicKey },
        this.publicKey,
      );
    } else {
      if (!(await this.ctx.store.removeDevice(this.accountId, m.devicePublicKey)))
        throw new RequestError(ErrorCode.notFound, 'no such device in this account');
      // Publishing the removal also ends the removed device's connections, on whichever ChatD.
      await this.ctx.notifier.publish(
        this.accountId,
        { kind: NotificationKind.deviceRemoved, subject: m.devicePublicKey },
        this.publicKey,
      );
    }
    this.ctx.logger.info(
      { user: this.userId, device: keyTag(m.devicePublicKey), approve: m.approve },
      'device decided',
    );
    this.send(requestId, new Ok());
  }

  private async report(requestId: number, m: ReportActivity): Promise<void> {
    await this.ctx.notifier.publish(
      this.accountId,
      { kind: m.kind, subject: this.publicKey, count: m.count },
      this.publicKey,
    );
    this.send(requestId, new Ok());
  }
}
