// Fresh random node secrets for keystore tests (not a test file: no `.test.ts`).
import { randomBytes } from 'node:crypto';
import type { NodeSecrets } from '../../src/hsm-platform/keystore.ts';

export function randomNodeSecrets(): NodeSecrets {
  return {
    recordKey: new Uint8Array(randomBytes(32)),
    // Shaped like @serenity-kit/opaque's base64url setup string; the keystores treat it as opaque bytes.
    opaqueServerSetup: new TextEncoder().encode(randomBytes(96).toString('base64url')),
    hpkePrivateKey: new Uint8Array(randomBytes(32)),
    endorsementPrivateKey: new Uint8Array(randomBytes(32)),
  };
}

export const copySecrets = (s: NodeSecrets): NodeSecrets => ({
  recordKey: Uint8Array.from(s.recordKey),
  opaqueServerSetup: Uint8Array.from(s.opaqueServerSetup),
  hpkePrivateKey: Uint8Array.from(s.hpkePrivateKey),
  endorsementPrivateKey: Uint8Array.from(s.endorsementPrivateKey),
});
