// The device side of ChatD (docs/PROTOCOL.md "15. ChatD protocol"): connect and authenticate, join, account
// settings, the backup list, and the plumbing that the vault transport and the blob store use.
// Browser-safe: the socket comes from a SocketOpener (global WebSocket by default).
import { StrongroomError, UnavailableError } from '../../errors.ts';
import {
  type AccountInfo,
  AccountInfoRequest,
  DecideDevice,
  ReportActivity,
  SetRequireApproval,
} from '../../protocol/chatd/account.ts';
import {
  BackupAdd,
  type BackupEntry,
  BackupListRequest,
  BackupRemove,
} from '../../protocol/chatd/backups.ts';
import { ErrorFrame } from '../../protocol/chatd/errors.ts';
import { decodeServerFrame, encodeFrame, type ServerMessage } from '../../protocol/chatd/frame.ts';
import { type DeviceState, Hello, Proof } from '../../protocol/chatd/handshake.ts';
import { JoinCodeRequest, type JoinCodeSent, JoinSubmit } from '../../protocol/chatd/join.ts';
import type { ChatdMessage, ChatdRequest, MessageClass } from '../../protocol/chatd/message.ts';
import { Notification, type NotificationKind } from '../../protocol/chatd/notification.ts';
import { FrameChannel } from './channel.ts';
import { errorFromFrame } from './errors.ts';
import type { DeviceIdentity } from './identity.ts';
import { type FrameSocket, openGlobalSocket, type SocketOpener } from './socket.ts';

export interface ConnectOptions {
  /** `ws://host:port/v1/chatd` (or `wss://`). */
  readonly url: string;
  readonly identity: DeviceIdentity;
  /** How to open the WebSocket (default: the global WebSocket). */
  readonly openSocket?: SocketOpener;
  /** How long one request may wait for its answer (default 60 s). */
  readonly requestTimeoutMs?: number;
}

/** Ensures an answer is of the expected class, turning an ErrorFrame into its typed error. */
export function expectMessage<M extends ChatdMessage>(message: ServerMessage, type: MessageClass<M>): M {
  if (message instanceof ErrorFrame) throw errorFromFrame(message);
  if (message.type !== type.TYPE) {
    throw new StrongroomError(
      `ChatD answered message type 0x${message.type.toString(16)} where 0x${type.TYPE.toString(16)} was due`,
    );
  }
  return message as unknown as M;
}

export class ChatdClient {
  private nextRequestId = 1;
  private readonly channels = new Map<number, FrameChannel>();
  private readonly listeners = new Set<(n: Notification) => void>();
  private readonly missed: Notification[] = [];
  private closeReason: StrongroomError | undefined;
  #deviceState: DeviceState = 0;

  private constructor(
    private readonly socket: FrameSocket,
    readonly identity: DeviceIdentity,
    private readonly requestTimeoutMs: number,
  ) {
    socket.onFrame = (bytes) => this.receive(bytes);
    socket.onClose = (code, reason) => this.closed(code, reason);
  }

  /** Connects and authenticates the device (Hello → Challenge → Proof → Welcome). */
  static async connect(options: ConnectOptions): Promise<ChatdClient> {
    let socket: FrameSocket;
    try {
      socket = await (options.openSocket ?? openGlobalSocket)(options.url);
    } catch (error) {
      throw new UnavailableError(`cannot reach ChatD at ${options.url}`, { cause: error });
    }
    const client = new ChatdClient(socket, options.identity, options.requestTimeoutMs ?? 60_000);
    try {
      const { identity } = options;
      const challenge = await client.request(
        new Hello({ userId: identity.userId, devicePublicKey: identity.publicKey }),
      );
      const welcome = await client.request(new Proof(identity.proveOnConnection(challenge.nonce)));
      client.#deviceState = welcome.deviceState;
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** 0 unregistered, 1 active, 2 pending approval (DeviceState). */
  get deviceState(): DeviceState {
    return this.#deviceState;
  }

  private receive(bytes: Uint8Array): void {
    let frame: ReturnType<typeof decodeServerFrame>;
    try {
      frame = decodeServerFrame(bytes);
    } catch (error) {
      this.closeReason = new StrongroomError(`ChatD sent a malformed frame: ${(error as Error).message}`);
      this.socket.close(1002, 'malformed frame');
      return;
    }
    const { requestId, message } = frame;
    if (requestId === 0) {
      if (message instanceof Notification) {
        if (this.listeners.size === 0) this.missed.push(message);
        for (const listener of this.listeners) listener(message);
      } else if (message instanceof ErrorFrame) {
        this.closeReason = errorFromFrame(message);
      }
      return;
    }
    this.channels.get(requestId)?.push(message);
  }

  private closed(code: number, reason: string): void {
    const error =
      this.closeReason ??
      new UnavailableError(`connection to ChatD closed (${code}${reason ? `: ${reason}` : ''})`);
    this.closeReason = error;
    for (const channel of this.channels.values()) channel.fail(error);
  }

  /** Opens a channel for a new request id (a request, or a blob transfer). @internal */
  openChannel(): { id: number; channel: FrameChannel; done: () => void } {
    const id = this.nextRequestId;
    this.nextRequestId = this.nextRequestId >= 0xffffffff ? 1 : this.nextRequestId + 1;
    const channel = new FrameChannel();
    if (this.closeReason) channel.fail(this.closeReason);
    this.channels.set(id, channel);
    return { id, channel, done: () => this.channels.delete(id) };
  }

  /** Sends a message under a request id. @internal */
  send(requestId: number, message: ChatdMessage): void {
    if (this.closeReason) throw this.closeReason;
    this.socket.send(encodeFrame(requestId, message));
  }

  /** Waits for the next answer on a channel, failing after the request timeout. @internal */
  async receiveOn(channel: FrameChannel): Promise<ServerMessage> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnavailableError(`ChatD did not answer within ${this.requestTimeoutMs / 1000} s`)),
        this.requestTimeoutMs,
      );
    });
    try {
      return await Promise.race([channel.next(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends one request and returns its answer, typed by the request (ErrorFrame → typed error). */
  async request<R extends ChatdMessage>(message: ChatdRequest<R>): Promise<R> {
    const { id, channel, done } = this.openChannel();
    try {
      this.send(id, message);
      return expectMessage(await this.receiveOn(channel), message.responseType);
    } finally {
      done();
    }
  }

  /** Asks ChatD to send a join code out of band for this device. */
  requestJoinCode(): Promise<JoinCodeSent> {
    return this.request(new JoinCodeRequest());
  }

  /** Submits the code; returns the device's new state (active, or pending approval). */
  async submitJoinCode(code: string): Promise<DeviceState> {
    const joined = await this.request(new JoinSubmit(code));
    this.#deviceState = joined.deviceState;
    return joined.deviceState;
  }

  accountInfo(): Promise<AccountInfo> {
    return this.request(new AccountInfoRequest());
  }

  async setRequireApproval(requireApproval: boolean): Promise<void> {
    await this.request(new SetRequireApproval(requireApproval));
  }

  /** Approves a pending device, or removes a device, of this account. */
  async decideDevice(devicePublicKey: Uint8Array, approve: boolean): Promise<void> {
    await this.request(new DecideDevice(devicePublicKey, approve));
  }

  /** Tells the account's other devices what this device saw the vault do. */
  async reportActivity(kind: NotificationKind, count = 0): Promise<void> {
    await this.request(new ReportActivity(kind, count));
  }

  async listBackups(): Promise<readonly BackupEntry[]> {
    return (await this.request(new BackupListRequest())).entries;
  }

  async addBackup(entry: BackupEntry): Promise<void> {
    await this.request(new BackupAdd(entry));
  }

  async removeBackup(id: string): Promise<void> {
    await this.request(new BackupRemove(id));
  }

  /**
   * Calls `listener` with each notification; those that arrived before any listener existed
   * (the ones missed while offline come right after Welcome) are delivered first.
   */
  onNotification(listener: (n: Notification) => void): () => void {
    for (const n of this.missed.splice(0)) listener(n);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closeReason ??= new UnavailableError('connection to ChatD closed by this device');
    this.socket.close(1000, 'bye');
  }
}
