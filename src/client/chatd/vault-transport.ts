// The vault transport over ChatD's relay (docs/PROTOCOL.md "ChatD: Vault relay"): each sealed
// request frame travels as a VaultRequest and its answer comes back as a VaultResponse. The frames
// are sealed end to end to the fleet key, so this transport, like ChatD, is untrusted.
import { VaultRequest } from '../../protocol/chatd/vault-relay.ts';
import type { VaultTransport } from '../vault/transport.ts';
import type { ChatdClient } from './client.ts';

export class ChatdVaultTransport implements VaultTransport {
  constructor(private readonly client: ChatdClient) {}

  async exchange(requestFrame: Uint8Array): Promise<Uint8Array> {
    return (await this.client.request(new VaultRequest(requestFrame))).frame;
  }
}
