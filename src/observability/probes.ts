// Liveness and readiness routes, the same on every Strongroom server (docs/OPERATIONS.md "Health
// and readiness"): `GET /health` says the process answers; `GET /ready` says it can do its work
// now, or why not. Reasons are fixed phrases and node names, never addresses, paths or secrets.
import type { ServerResponse } from 'node:http';

export const LIVENESS_PATH = '/health';
export const READINESS_PATH = '/ready';

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** Whether a server can do its work right now; never rejects (a failure is a reason). */
export type ReadinessCheck = () => Promise<Readiness>;

export const READY: Readiness = { ready: true };

/** Answers a readiness probe: 200 `{"ready":true}` or 503 `{"ready":false,"reason":...}`. */
export function answerReadiness(check: ReadinessCheck, response: ServerResponse): void {
  check()
    .catch((): Readiness => ({ ready: false, reason: 'the readiness check failed' }))
    .then((readiness) => {
      response
        .writeHead(readiness.ready ? 200 : 503, {
          'content-type': 'application/json',
          'cache-control': 'no-store',
        })
        .end(`${JSON.stringify(readiness)}\n`);
    });
}
