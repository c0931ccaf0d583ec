// Test harness for ChatD: a real ChatD server on a loopback port in a temporary data dir, real
// WebSocket clients, and tiny real HTTP "vault nodes" that answer every frame with a well-formed
// sealed-kind response frame carrying the request's bytes (an echo: a real socket, not a mock;
// the real vault is exercised by test/e2e). Codes go through a recording CodeSender.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeSender } from '../../src/chatd/code-sender.ts';
import type { CaptureChannel } from '../../src/chatd/context.ts';
import { type ChatdOptions, ChatdServer } from '../../src/chatd/server.ts';
import { HttpVaultNode, type VaultNode } from '../../src/chatd/vault-relay.ts';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { READINESS_PATH, READY } from '../../src/observability/probes.ts';
import { recordIdFor } from '../../src/protocol/chatd/record-id.ts';
import { FleetMember, FleetPublicInfo } from '../../src/protocol/fleet.ts';
import { GUESSES_SPENT_HEADER } from '../../src/protocol/vault/activity.ts';
import { serializeResponseFrame, VaultOp, VaultRequestFrame } from '../../src/protocol/vault/frames.ts';

export const FLEET_ID = Uint8Array.from(randomBytes(16));

/** Records every code the server sends, per user id (the latest last). */
export class RecordingSender implements CodeSender {
  readonly codes = new Map<string, string[]>();
  async send(userId: string, code: string): Promise<void> {
    this.codes.set(userId, [...(this.codes.get(userId) ?? []), code]);
  }
  latest(userId: string): string {
    const code = this.codes.get(userId)?.at(-1);
    if (code === undefined) throw new Error(`no code was sent to ${userId}`);
    return code;
  }
}

export type EchoBehaviour = 'echo' | 'http-500' | 'unavailable' | 'hang';

/** A real HTTP server standing in for a vault node; `behaviour` can be changed while it runs. */
export class EchoVaultNode {
  hits = 0;
  behaviour: EchoBehaviour = 'echo';
  /** When set, sent as the vault host's activity hint header with each echo (docs/PROTOCOL.md §9d). */
  guessesSpentHint: string | undefined;
  readonly received: Uint8Array[] = [];
  private constructor(readonly server: Server) {}

  static async start(): Promise<EchoVaultNode> {
    const node: EchoVaultNode = new EchoVaultNode(
      createServer((request, response) => {
        // A node's readiness probe (docs/OPERATIONS.md "Health and readiness"): ready unless failing.
        if (request.method === 'GET' && request.url === READINESS_PATH) {
          const ready = node.behaviour === 'echo';
          return void response
            .writeHead(ready ? 200 : 503)
            .end(`${JSON.stringify(ready ? READY : { ready, reason: node.behaviour })}\n`);
        }
        const chunks: Buffer[] = [];
        request.on('data', (c: Buffer) => chunks.push(c));
        request.on('end', () => {
          node.hits++;
          const body = new Uint8Array(Buffer.concat(chunks));
          node.received.push(body);
          if (node.behaviour === 'hang') return;
          if (node.behaviour === 'http-500') return void response.writeHead(500).end();
          const frame =
            node.behaviour === 'unavailable'
              ? serializeResponseFrame({ kind: 'error', code: 2 })
              : serializeResponseFrame({
                  kind: 'sealed',
                  responseNonce: new Uint8Array(32),
                  ciphertext: body,
                });
          const hint =
            node.guessesSpentHint === undefined ? {} : { [GUESSES_SPENT_HEADER]: node.guessesSpentHint };
          response.writeHead(200, { 'content-type': 'application/octet-stream', ...hint }).end(frame);
        });
      }),
    );
    await new Promise<void>((resolve) => node.server.listen(0, '127.0.0.1', () => resolve()));
    return node;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/vault`;
  }

  vaultNode(name: string, region: string): VaultNode {
    return new HttpVaultNode(name, region, this.url);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface Harness {
  readonly server: ChatdServer;
  readonly sender: RecordingSender;
  readonly dataDir: string;
  readonly captured: Array<{ channel: CaptureChannel; bytes: Uint8Array }>;
  connect(identity: DeviceIdentity): Promise<ChatdClient>;
  /** A fresh device joined to `userId` (creating the account if it is the first). */
  join(userId: string, identity?: DeviceIdentity): Promise<ChatdClient>;
  close(): Promise<void>;
}

export async function startChatd(options: Partial<ChatdOptions> = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chatd-test-'));
  const sender = new RecordingSender();
  const captured: Harness['captured'] = [];
  const server = await ChatdServer.start({
    dataDir,
    vaultNodes: [],
    fleetIds: [FLEET_ID],
    codeSender: sender,
    capture: (channel, bytes) => captured.push({ channel, bytes: Uint8Array.from(bytes) }),
    ...options,
  });
  const clients: ChatdClient[] = [];
  const connect = async (identity: DeviceIdentity) => {
    const client = await ChatdClient.connect({ url: server.url, identity, openSocket: openNodeSocket });
    clients.push(client);
    return client;
  };
  return {
    server,
    sender,
    dataDir,
    captured,
    connect,
    async join(userId, identity = DeviceIdentity.generate(userId)) {
      const client = await connect(identity);
      await client.requestJoinCode();
      await client.submitJoinCode(sender.latest(userId));
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A well-formed vault request frame for `userId`'s record (the ciphertext is random filler). */
export function vaultFrame(userId: string, op = VaultOp.status, fleetId = FLEET_ID): Uint8Array {
  return new VaultRequestFrame({
    op,
    fleetId,
    recordId: recordIdFor(fleetId, userId),
    enc: randomBytes(32),
    ciphertext: randomBytes(48),
  }).serialize();
}

/** Public fleet info with node-N in `regions[N]` (keys are random: only names and regions matter here). */
export function testFleet(regions: readonly string[], fleetId = FLEET_ID): FleetPublicInfo {
  return new FleetPublicInfo({
    fleetId,
    members: regions.map(
      (region, index) =>
        new FleetMember({ index, name: `node-${index}`, region, endorsementPublicKey: randomBytes(32) }),
    ),
    quorum: Math.floor(regions.length / 2) + 1,
    maxGuessLimit: 10,
    hpkePublicKey: randomBytes(32),
    opaqueServerPublicKey: randomBytes(32),
  });
}
