// Damage through the browser path (src/client/backup/web-codec.ts, web-streams.ts; docs/BACKUP.md
// "When something fails"): WebCrypto, web streams and CompressionStream. A damaged chunk under a
// deflated archive, and deflate data that does not inflate, reach the reader as DamagedBackupError,
// never as an uncaught error (which would fail this test process).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { webCodec } from '../../../src/client/backup/web-codec.ts';
import { fromWebStream, toWebStream } from '../../../src/client/backup/web-streams.ts';
import { decryptWebStream, encryptWebStream } from '../../../src/client/index.ts';
import { DamagedBackupError } from '../../../src/errors.ts';
import { readArchive, writeArchive } from '../../../src/format/archive.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { decryptStream, encryptStream } from '../../../src/format/stream.ts';
import { webCrypto } from '../../../src/format/webcrypto.ts';

const key = BackupKey.generate(webCrypto.randomBytes);

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Reads every entry and its content, as a restore does. */
async function readAll(plaintext: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const entry of readArchive(plaintext, webCodec)) {
    if (entry.type === 'file') await collect(entry.content);
  }
}

describe('the web path on damaged input', () => {
  it('a flipped bit under a deflated archive: DamagedBackupError from the chunk that failed', async () => {
    async function* entries() {
      const content = webCrypto.randomBytes(100_000);
      yield {
        type: 'file' as const,
        path: 'a',
        mode: 0o600,
        mtimeNs: 0n,
        size: content.length,
        content: once(content),
      };
    }
    const sealed = await collect(
      encryptStream(writeArchive(entries(), webCodec), key, { crypto: webCrypto, chunkSize: 4096 }),
    );
    sealed[sealed.length - 2000]! ^= 1;
    await assert.rejects(
      readAll(decryptStream(once(sealed), key, { crypto: webCrypto })),
      (e) => e instanceof DamagedBackupError && /chunk \d+ failed/.test(e.message),
    );
  });

  it('deflate data that does not inflate, sealed with the right key: DamagedBackupError', async () => {
    const archive = Buffer.concat([Buffer.from('SRAR\x01\x01', 'latin1'), Buffer.from('not deflate data')]);
    const sealed = await collect(encryptStream(once(archive), key, { crypto: webCrypto }));
    await assert.rejects(
      readAll(decryptStream(once(sealed), key, { crypto: webCrypto })),
      (e) => e instanceof DamagedBackupError && /compressed body does not inflate/.test(e.message),
    );
  });

  it('decryptWebStream errors its ReadableStream with DamagedBackupError', async () => {
    const plain = toWebStream(once(webCrypto.randomBytes(50_000)));
    const sealed = await collect(fromWebStream(encryptWebStream(plain, key)));
    sealed[sealed.length - 10]! ^= 1;
    await assert.rejects(
      collect(fromWebStream(decryptWebStream(toWebStream(once(sealed)), key))),
      (e) => e instanceof DamagedBackupError && /chunk \d+ failed/.test(e.message),
    );
  });
});
