// Binary request/response over HTTP between fleet processes (docs/ARCHITECTURE.md "Processes and deployment"):
// one POST carries one encoded message as application/octet-stream. The bytes are sealed or
// signed end to end, so HTTP adds nothing to trust; it only has to be bounded — in time on the
// client side, in size on the server side — so a dead or hostile peer costs a timeout, no more.
import { Agent, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import { UnavailableError } from '../errors.ts';

export const OCTET_STREAM = 'application/octet-stream';

/** Largest body either side accepts: an intent carries at most a 1 MiB evidence frame and two states. */
export const MAX_BODY_BYTES = 2 << 20;

/** Thrown by readBody when a body is larger than allowed; the server answers 413. */
export class BodyTooLargeError extends Error {}

/**
 * Reads a whole request or response body, refusing one larger than `limit` bytes. Event listeners
 * rather than an async iterator: this runs for every frame and endorsement, and the iterator's
 * promise per chunk was a visible share of a node's CPU.
 */
export function readBody(stream: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(stream.headers['content-length'] ?? 0);
    if (declared > limit) {
      stream.resume();
      reject(new BodyTooLargeError(`body of ${declared} bytes is over the ${limit}-byte limit`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanUp();
        stream.destroy();
        reject(new BodyTooLargeError(`body is over the ${limit}-byte limit`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanUp();
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      resolve(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    };
    const onError = (error: Error) => {
      cleanUp();
      reject(error);
    };
    // A stream destroyed before its end (the peer hung up) neither ends nor always errs.
    const onClose = () => onError(new Error('the connection closed before the body ended'));
    const cleanUp = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

export interface PostOptions {
  readonly timeoutMs: number;
  readonly agent?: Agent;
  readonly signal?: AbortSignal;
}

/**
 * POSTs `body` to `url` and returns the 200 response's bytes. Every failure — refused connection,
 * no answer within `timeoutMs`, another status, an oversized answer — is UnavailableError: the
 * caller treats the peer as down for this request and relies on the others.
 */
export async function postBytes(url: URL, body: Uint8Array, options: PostOptions): Promise<Uint8Array> {
  return (await postForAnswer(url, body, options)).body;
}

/** postBytes, with the response's headers too (the vault host's activity hint rides in one). */
export function postForAnswer(
  url: URL,
  body: Uint8Array,
  options: PostOptions,
): Promise<{ body: Uint8Array; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const { signal } = options;
    const abort = () => {
      outgoing.destroy();
      fail('was abandoned by the caller');
    };
    // One deadline for the whole exchange (connect, send, answer), not just socket idleness.
    const timer = setTimeout(() => {
      outgoing.destroy();
      fail(`did not answer within ${options.timeoutMs} ms`);
    }, options.timeoutMs);
    const fail = (why: string, cause?: unknown) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      reject(new UnavailableError(`${url.origin} ${why}`, cause === undefined ? undefined : { cause }));
    };
    const succeed = (bytes: Uint8Array, headers: IncomingHttpHeaders) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      resolve({ body: bytes, headers });
    };
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent: options.agent,
        headers: { 'content-type': OCTET_STREAM, 'content-length': body.byteLength },
        timeout: options.timeoutMs,
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          fail(`answered HTTP ${response.statusCode}`);
          return;
        }
        readBody(response).then(
          (bytes) => succeed(bytes, response.headers),
          (error) => fail('sent an unreadable answer', error),
        );
      },
    );
    outgoing.once('timeout', () => outgoing.destroy());
    outgoing.once('error', (error) => fail(`could not be reached (${error.message})`, error));
    if (signal?.aborted) return abort();
    signal?.addEventListener('abort', abort, { once: true });
    outgoing.end(body);
  });
}

/** A keep-alive agent for one peer: recoveries are many small requests to the same few nodes. */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 64 });
}
