// A VaultTransport straight to a vault host over HTTP (docs/PROTOCOL.md "Transport"): one POST of
// the sealed request frame to `${baseUrl}/v1/vault`, the response frame in the body. fetch only, so
// it runs in browsers too. The frames are sealed end to end; this transport is untrusted.
import { UnavailableError } from '../../errors.ts';
import { toArrayBuffer } from './crypto.ts';
import type { VaultTransport } from './transport.ts';

export class HttpVaultTransport implements VaultTransport {
  constructor(
    private readonly baseUrl: string,
    private readonly options: { timeoutMs?: number } = {},
  ) {}

  async exchange(requestFrame: Uint8Array): Promise<Uint8Array> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/v1/vault`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: toArrayBuffer(requestFrame),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new UnavailableError(`the vault at ${this.baseUrl} could not be reached`, {
        cause: error,
        hints: ['check the vault URL and that the vault host is running'],
      });
    }
    if (response.status !== 200) {
      throw new UnavailableError(`the vault at ${this.baseUrl} answered HTTP ${response.status}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }
}
