// src/web/open-backup.ts on Node's WebCrypto and web streams (the browser run is page.test.ts):
// listings and extraction of real backups made by the SDK, and that nothing is committed unless the
// whole stream verified.
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { DamagedBackupError, StrongroomError, WrongKeyError } from '../../src/errors.ts';
import { BackupKey } from '../../src/format/key.ts';
import { encryptStream } from '../../src/format/stream.ts';
import {
  extractFile,
  type FileSink,
  NotABackupError,
  openBackup,
  selectedEntries,
  UnreadableFileError,
} from '../../src/web/open-backup.ts';
import { CHUNK_SIZE, damagedCopy, makeSampleBackup, type SampleBackup, sha256 } from './fixtures.ts';

/** A sink that records what it was told, in order. */
function recordingSink() {
  const events: string[] = [];
  const pieces: Uint8Array[] = [];
  const sink: FileSink = {
    async write(piece) {
      events.push('write');
      pieces.push(Uint8Array.from(piece));
    },
    async commit() {
      events.push('commit');
    },
    async abort() {
      events.push('abort');
    },
  };
  return { sink, events, bytes: () => Buffer.concat(pieces) };
}

const otherKey = () => BackupKey.generate(nodeCrypto.randomBytes);

for (const compress of [false, true]) {
  describe(`a backup${compress ? ' with a deflated archive' : ''}`, () => {
    let sample: SampleBackup;
    before(async () => {
      sample = await makeSampleBackup({ compress });
    });
    after(() => rm(sample.dir, { recursive: true, force: true }));

    test('lists every entry with its kind, size and mtime, reading the whole file', async () => {
      const blob = await openAsBlob(sample.file);
      let last = { done: -1, total: -1 };
      const contents = await openBackup(blob, sample.key, {
        onProgress: (done, total) => {
          last = { done, total };
        },
      });
      assert.equal(contents.kind, 'archive');
      assert.ok(contents.kind === 'archive');
      assert.deepEqual(
        contents.entries.map((e) => [e.path, e.type, e.type === 'file' ? e.size : null]),
        sample.entries.map((e) => [
          e.path,
          e.kind === 'symbolic link' ? 'symlink' : e.kind,
          e.kind === 'file' ? e.size : null,
        ]),
      );
      for (const entry of contents.entries) {
        assert.equal(entry.mtimeNs, BigInt(Date.parse('2026-03-04T05:06:07Z')) * 1_000_000n, entry.path);
        assert.ok(!('content' in entry), 'a listing holds no content');
      }
      const link = contents.entries.find((e) => e.type === 'symlink');
      assert.equal(link?.type === 'symlink' && link.target, 'media/photo.bin');
      assert.deepEqual(last, { done: blob.size, total: blob.size });
    });

    test('extracts one file byte for byte and commits after the last write', async () => {
      const { sink, events, bytes } = recordingSink();
      await extractFile(await openAsBlob(sample.file), sample.key, 'chat/media/photo.bin', sink);
      const photo = sample.entries.find((e) => e.path === 'chat/media/photo.bin')!;
      assert.equal(sha256(bytes()), photo.sha256);
      assert.equal(events.at(-1), 'commit');
      assert.ok(!events.includes('abort'));
    });

    test('extracts an empty file as an empty commit', async () => {
      const { sink, events } = recordingSink();
      await extractFile(await openAsBlob(sample.file), sample.key, 'chat/media/empty.bin', sink);
      assert.deepEqual(events, ['commit']);
    });

    test('a wrong key fails as a wrong key, before anything is written', async () => {
      const blob = await openAsBlob(sample.file);
      await assert.rejects(openBackup(blob, otherKey()), WrongKeyError);
      const { sink, events } = recordingSink();
      await assert.rejects(extractFile(blob, otherKey(), 'chat/messages.txt', sink), WrongKeyError);
      assert.deepEqual(events, ['abort']);
    });

    test('a damaged final chunk fails as damaged, and the file is never committed', async () => {
      const damaged = await damagedCopy(sample.file, -3, join(sample.dir, 'tail.srb'));
      const blob = await openAsBlob(damaged);
      await assert.rejects(openBackup(blob, sample.key), DamagedBackupError);
      // photo.bin ends in an earlier chunk: its bytes reach the sink, but are aborted, not committed.
      const { sink, events } = recordingSink();
      await assert.rejects(extractFile(blob, sample.key, 'chat/media/photo.bin', sink), DamagedBackupError);
      assert.equal(events.at(-1), 'abort');
      assert.ok(!events.includes('commit'));
    });

    test('a damaged middle chunk and a truncated file fail as damaged', async () => {
      const middle = await damagedCopy(sample.file, 93 + 5 * (CHUNK_SIZE + 16), join(sample.dir, 'mid.srb'));
      await assert.rejects(openBackup(await openAsBlob(middle), sample.key), /chunk 5 failed to decrypt/);
      const whole = await openAsBlob(sample.file);
      const truncated = join(sample.dir, 'cut.srb');
      await writeFile(
        truncated,
        new Uint8Array(await whole.slice(0, 93 + 3 * (CHUNK_SIZE + 16)).arrayBuffer()),
      );
      await assert.rejects(openBackup(await openAsBlob(truncated), sample.key), (error) => {
        assert.ok(error instanceof DamagedBackupError);
        assert.match(error.message, /truncated/);
        return true;
      });
    });

    test('extracting a path the backup does not hold fails and aborts', async () => {
      const { sink, events } = recordingSink();
      await assert.rejects(
        extractFile(await openAsBlob(sample.file), sample.key, 'chat/nope', sink),
        (error) => error instanceof StrongroomError && /"chat\/nope" is no longer in it/.test(error.message),
      );
      assert.deepEqual(events, ['abort']);
    });

    test('a file that cannot be read fails as unreadable, not as damaged', async () => {
      const bytes = new Uint8Array(await (await openAsBlob(sample.file)).arrayBuffer());
      // A file whose read fails halfway (as Chromium's does once the file changed on disk); a real
      // disk error cannot be provoked here.
      const failing = {
        size: bytes.length,
        stream: () =>
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(bytes.subarray(0, 1000));
              controller.error(new TypeError('network error'));
            },
          }),
      } as unknown as Blob;
      const { sink, events } = recordingSink();
      await assert.rejects(extractFile(failing, sample.key, 'chat/messages.txt', sink), UnreadableFileError);
      assert.deepEqual(events, ['abort']);
    });

    test('yields the selected entries in archive order with their bytes, in one pass', async () => {
      const seen: [string, string][] = [];
      let passes = 0;
      const paths = new Set(['chat/media', 'chat/media/photo.bin', 'chat/messages.txt']);
      const entries = selectedEntries(await openAsBlob(sample.file), sample.key, paths, {
        onProgress: (done) => {
          if (done === 0) passes++;
        },
      });
      for await (const entry of entries) {
        if (entry.type === 'directory') {
          seen.push([entry.path, 'directory']);
          continue;
        }
        const pieces: Uint8Array[] = [];
        for await (const piece of entry.content) pieces.push(Uint8Array.from(piece));
        seen.push([entry.path, sha256(Buffer.concat(pieces))]);
      }
      assert.equal(passes, 1);
      assert.deepEqual(
        seen,
        [...paths].map((path) => {
          const expected = sample.entries.find((e) => e.path === path)!;
          return [path, expected.sha256 ?? 'directory'];
        }),
      );
    });

    test('a selection from a backup with a damaged final chunk fails as damaged', async () => {
      const damaged = await damagedCopy(sample.file, -3, join(sample.dir, 'tail-selection.srb'));
      await assert.rejects(async () => {
        const paths = new Set(['chat/media/photo.bin']);
        for await (const entry of selectedEntries(await openAsBlob(damaged), sample.key, paths)) {
          if (entry.type === 'file') for await (const _piece of entry.content);
        }
      }, /chunk \d+ failed to decrypt and authenticate/);
    });

    test('a selected path that is not a file or directory is refused', async () => {
      const paths = new Set(['chat/latest']);
      await assert.rejects(async () => {
        for await (const _entry of selectedEntries(await openAsBlob(sample.file), sample.key, paths));
      }, /"chat\/latest" is no longer a file or directory/);
    });

    test('an aborted signal stops the pass', async () => {
      const controller = new AbortController();
      const blob = await openAsBlob(sample.file);
      const pass = openBackup(blob, sample.key, {
        signal: controller.signal,
        onProgress: (done) => {
          if (done > 0) controller.abort();
        },
      });
      await assert.rejects(pass, { name: 'AbortError' });
    });
  });
}

describe('a file that is not a backup', () => {
  for (const [what, bytes] of [
    ['a short text file', new TextEncoder().encode('shopping list\n')],
    ['an empty file', new Uint8Array(0)],
    ['a large file of another kind', new Uint8Array(100_000).fill(0xff)],
  ] as const) {
    test(`${what} is named as not a backup, never as truncated or damaged`, async () => {
      const blob = new Blob([bytes]);
      await assert.rejects(openBackup(blob, otherKey()), (error) => {
        assert.ok(error instanceof NotABackupError, String(error));
        assert.ok(!(error instanceof DamagedBackupError));
        assert.match(error.message, /^this is not a Strongroom backup/);
        return true;
      });
      const { sink, events } = recordingSink();
      await assert.rejects(extractFile(blob, otherKey(), null, sink), NotABackupError);
      assert.deepEqual(events, ['abort']);
    });
  }
});

describe('a single encrypted file (strongroom encrypt)', () => {
  test('opens as one file and extracts to the same bytes', async () => {
    const key = otherKey();
    const plaintext = nodeCrypto.randomBytes(3 * CHUNK_SIZE + 7);
    const pieces: Uint8Array[] = [];
    async function* source() {
      yield plaintext;
    }
    for await (const piece of encryptStream(source(), key, { crypto: nodeCrypto, chunkSize: CHUNK_SIZE }))
      pieces.push(piece);
    const blob = new Blob(pieces.map((piece) => Buffer.from(piece)));
    assert.deepEqual(await openBackup(blob, key), { kind: 'single', size: plaintext.length });
    const { sink, events, bytes } = recordingSink();
    await extractFile(blob, key, null, sink);
    assert.equal(sha256(bytes()), sha256(plaintext));
    assert.equal(events.at(-1), 'commit');
    const listed = recordingSink();
    await assert.rejects(extractFile(blob, key, 'a/path', listed.sink), /no longer holds an archive/);
    assert.deepEqual(listed.events, ['abort']);
  });
});
