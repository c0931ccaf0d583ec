// The vault host's HTTP face (docs/PROTOCOL.md "Transport"): `POST /v1/vault` takes one binary
// request frame and answers one binary response frame, with the activity hint for ChatD in a
// header (docs/PROTOCOL.md §9d); `GET /v1/health` says whether it is up.
// The frames are sealed end to end, so this layer only routes and bounds sizes.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatGuessesSpent, GUESSES_SPENT_HEADER } from '../protocol/vault/activity.ts';
import type { VaultCoordinator } from './coordinator.ts';

/** Largest request frame accepted (the largest real frame is well under 4 KiB). */
export const MAX_FRAME_BYTES = 64 * 1024;

export class VaultHttpServer {
  private constructor(private readonly server: Server) {}

  /** Listens on host:port (port 0 picks a free one); resolves once listening. */
  static async listen(
    coordinator: VaultCoordinator,
    options: { host?: string; port?: number } = {},
  ): Promise<VaultHttpServer> {
    const server = createServer((request, response) => {
      if (request.method === 'GET' && request.url === '/v1/health') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
        return;
      }
      if (request.method !== 'POST' || request.url !== '/v1/vault') {
        response.writeHead(404).end();
        return;
      }
      readBody(request)
        .then(async (body) => {
          if (body === undefined) {
            response.writeHead(413).end();
            return;
          }
          const { frame, activity } = await coordinator.exchange(body);
          response
            .writeHead(200, {
              'content-type': 'application/octet-stream',
              'content-length': frame.length,
              [GUESSES_SPENT_HEADER]: formatGuessesSpent(activity),
            })
            .end(frame);
        })
        .catch(() => {
          if (!response.headersSent) response.writeHead(500);
          response.end();
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    return new VaultHttpServer(server);
  }

  get url(): string {
    const address = this.server.address() as AddressInfo;
    return `http://${address.address}:${address.port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The request body, or undefined once it exceeds MAX_FRAME_BYTES. */
async function readBody(request: IncomingMessage): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FRAME_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
