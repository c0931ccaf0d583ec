// How a device's sealed vault frames reach the vault (docs/PROTOCOL.md "Transport"). The frames are
// sealed end to end to the fleet key, so a transport is untrusted: HTTP straight to a vault host
// (tests, operators) or ChatD's WebSocket relay (src/client/chatd).

export interface VaultTransport {
  /**
   * Sends one sealed request frame and returns the vault's response frame. Throws
   * UnavailableError when nothing answers; never interprets the bytes.
   */
  exchange(requestFrame: Uint8Array): Promise<Uint8Array>;
}
