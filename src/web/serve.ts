// Serves the built backup opener page (docs/WEB.md "Hosting it"): a request handler the embedded
// server can mount at `/`, and a standalone server for `strongroom web`. Node-only; it serves a
// fixed set of static files with the page's Content-Security-Policy as a header.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrongroomError } from '../errors.ts';

const CONTENT_TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'main.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

/** dist/web of this package, found from this file whether it runs from src/ or from dist/src/. */
export function defaultWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dir, 'dist', 'web');
}

/**
 * The policy the page declares in its <meta> tag (page.html is its one source), plus what only a
 * header can say: no framing, so the page cannot be overlaid to trick a user into revealing a key.
 */
export function pageContentSecurityPolicy(indexHtml: string): string {
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(indexHtml);
  if (meta === null) throw new Error('index.html declares no Content-Security-Policy');
  return `${meta[1]}; frame-ancestors 'none'`;
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * A handler serving the page built in `root` (dist/web by default) at `/`: GET and HEAD of
 * /, /index.html, /main.js, /style.css and /icon.svg; 404 for anything else. The files are read
 * once, here: a missing build is reported at start, not on the first request.
 */
export function createWebHandler(options: { root?: string } = {}): RequestHandler {
  const root = resolve(options.root ?? defaultWebRoot());
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [name, type] of Object.entries(CONTENT_TYPES)) {
    const path = join(root, name);
    if (!existsSync(path)) {
      throw new StrongroomError(`the web page is not built: ${path} is missing`, {
        hints: ['run `npm run build` (or `node scripts/build-web.mjs`) in the Strongroom package'],
      });
    }
    files.set(`/${name}`, { body: readFileSync(path), type });
  }
  files.set('/', files.get('/index.html')!);
  const headers = {
    'Content-Security-Policy': pageContentSecurityPolicy(files.get('/')!.body.toString('utf8')),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-cache',
  };
  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://page').pathname;
    const file = files.get(path);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      response.end('method not allowed\n');
    } else if (file === undefined) {
      response.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('not found\n');
    } else {
      response.writeHead(200, { ...headers, 'Content-Type': file.type, 'Content-Length': file.body.length });
      response.end(request.method === 'HEAD' ? undefined : file.body);
    }
  };
}

export interface WebServer {
  /** e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Serves the page alone on `host`:`port` (port 0: any free port). */
export async function serveWeb(options: { host: string; port: number; root?: string }): Promise<WebServer> {
  const server = createServer(createWebHandler({ root: options.root }));
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host, () => done());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
