// src/web/open-repository.ts and src/web/folder-store.ts on Node's WebCrypto and File (the browser
// run is repository-page.test.ts): a repository made by the SDK with two snapshots, read through a
// FolderBlobStore of the folder's files as a browser hands them over; wrong key, damage, and a
// folder that is no repository, each as its own typed error.
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { listSnapshot, snapshotEntries } from '../../src/client/repository/browse.ts';
import { DamagedBackupError, UsageError, WrongKeyError } from '../../src/errors.ts';
import { BackupKey } from '../../src/format/key.ts';
import { FolderBlobStore, type PickedFolder } from '../../src/web/folder-store.ts';
import type { FileSink } from '../../src/web/open-backup.ts';
import { writeOneFile } from '../../src/web/open-backup.ts';
import { NotARepositoryError, openRepository } from '../../src/web/open-repository.ts';
import { sha256 } from './fixtures.ts';
import {
  damagedRepository,
  makeSampleRepository,
  placeOf,
  type SampleRepository,
} from './repository-fixture.ts';

/** The folder's files as File objects, as the folder dialog gives them. */
async function pickedFolder(folder: string): Promise<PickedFolder> {
  const files: File[] = [];
  for (const name of await readdir(folder)) {
    files.push(new File([await openAsBlob(join(folder, name))], name));
  }
  return { name: folder.split('/').pop() ?? folder, files };
}

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

let sample: SampleRepository;
before(async () => {
  sample = await makeSampleRepository();
});
after(() => rm(sample.dir, { recursive: true, force: true }));

describe('a repository opened from a picked folder', () => {
  test('lists both snapshots with their time, files and size, oldest first', async () => {
    const opened = await openRepository(await pickedFolder(sample.folder), sample.key);
    try {
      assert.deepEqual(
        opened.snapshots.map(({ id, time, files, size }) => ({ id, time, files, size })),
        sample.snapshots.map(({ id, time, files, size }) => ({ id, time, files, size })),
      );
      assert.deepEqual(opened.damaged, []);
      assert.deepEqual(
        opened.snapshots.map((snapshot) => snapshot.files),
        [3, 4],
      );
    } finally {
      opened.close();
    }
  });

  test("lists each snapshot's tree and reads back every file byte for byte, each as it was that day", async () => {
    const opened = await openRepository(await pickedFolder(sample.folder), sample.key);
    try {
      for (const [index, snapshot] of opened.snapshots.entries()) {
        const listing = await listSnapshot(opened.reader, snapshot);
        const expected = sample.files[index]!;
        assert.deepEqual(
          listing.entries.map((entry) => `${entry.type} ${entry.path}`),
          [
            'directory chat',
            'directory chat/media',
            'file chat/media/empty.bin',
            'file chat/media/photo.bin',
            ...(index === 1 ? ['file chat/media/second.bin'] : []),
            'file chat/messages.txt',
          ],
        );
        const read = new Map<string, string>();
        const directories: string[] = [];
        for await (const entry of snapshotEntries(
          opened.reader,
          listing,
          new Set(listing.entries.map((entry) => entry.path)),
        )) {
          if (entry.type === 'directory') {
            directories.push(entry.path);
            continue;
          }
          const pieces: Uint8Array[] = [];
          for await (const piece of entry.content) pieces.push(piece);
          read.set(entry.path, sha256(Buffer.concat(pieces)));
        }
        assert.deepEqual(directories, ['chat', 'chat/media']);
        assert.deepEqual(read, new Map([...expected].map(([path, file]) => [path, file.sha256])));
      }
    } finally {
      opened.close();
    }
  });

  test('a path that is not in the snapshot is a UsageError, and the sink is aborted, not committed empty', async () => {
    const opened = await openRepository(await pickedFolder(sample.folder), sample.key);
    try {
      const listing = await listSnapshot(opened.reader, opened.snapshots[0]!);
      const sink = recordingSink();
      await assert.rejects(
        writeOneFile(snapshotEntries(opened.reader, listing, new Set(['chat/media/second.bin'])), sink.sink),
        (error: unknown) =>
          error instanceof UsageError &&
          /not in the snapshot: "chat\/media\/second\.bin"/.test(error.message),
      );
      assert.deepEqual(sink.events, ['abort']);
    } finally {
      opened.close();
    }
  });

  test('a wrong key is a WrongKeyError before anything is read, not damage', async () => {
    await assert.rejects(
      openRepository(await pickedFolder(sample.folder), BackupKey.generate(nodeCrypto.randomBytes)),
      (error: unknown) =>
        error instanceof WrongKeyError && /does not open this repository/.test(error.message),
    );
  });

  test('a damaged chunk fails only the file that needs it: nothing of it is committed, the rest reads', async () => {
    const [first] = sample.snapshots;
    const place = await placeOf(sample, first!, { chunkOf: 'chat/media/photo.bin' });
    const folder = await damagedRepository(sample, place, join(sample.dir, 'damaged-chunk'));
    const opened = await openRepository(await pickedFolder(folder), sample.key);
    try {
      const listing = await listSnapshot(opened.reader, opened.snapshots[0]!);
      const photo = recordingSink();
      await assert.rejects(
        writeOneFile(snapshotEntries(opened.reader, listing, new Set(['chat/media/photo.bin'])), photo.sink),
        (error: unknown) =>
          error instanceof DamagedBackupError && new RegExp(`in pack ${place.pack}`).test(error.message),
      );
      assert.equal(photo.events.at(-1), 'abort');
      assert.ok(!photo.events.includes('commit'), 'a damaged file is never committed');
      const messages = recordingSink();
      await writeOneFile(
        snapshotEntries(opened.reader, listing, new Set(['chat/messages.txt'])),
        messages.sink,
      );
      assert.equal(messages.events.at(-1), 'commit');
      assert.equal(sha256(messages.bytes()), sample.files[0]!.get('chat/messages.txt')!.sha256);
    } finally {
      opened.close();
    }
  });

  test('a damaged root tree fails the listing of its snapshot only', async () => {
    const [first, second] = sample.snapshots;
    const place = await placeOf(sample, first!, 'root tree');
    const folder = await damagedRepository(sample, place, join(sample.dir, 'damaged-tree'));
    const opened = await openRepository(await pickedFolder(folder), sample.key);
    try {
      await assert.rejects(listSnapshot(opened.reader, opened.snapshots[0]!), DamagedBackupError);
      const listing = await listSnapshot(opened.reader, opened.snapshots[1]!);
      assert.equal(listing.entries.filter((entry) => entry.type === 'file').length, second!.files);
    } finally {
      opened.close();
    }
  });

  test('a damaged snapshot object is reported as damaged; the other snapshot still lists', async () => {
    const folder = join(sample.dir, 'damaged-snapshot');
    await mkdir(folder);
    const name = `repo.snapshot.${sample.snapshots[0]!.id}`;
    for (const file of await readdir(sample.folder)) {
      const bytes = Buffer.from(await (await openAsBlob(join(sample.folder, file))).arrayBuffer());
      if (file === name) bytes[20]! ^= 0x01;
      await writeFile(join(folder, file), bytes);
    }
    const opened = await openRepository(await pickedFolder(folder), sample.key);
    try {
      assert.deepEqual(
        opened.snapshots.map((snapshot) => snapshot.id),
        [sample.snapshots[1]!.id],
      );
      assert.equal(opened.damaged.length, 1);
      assert.equal(opened.damaged[0]!.id, sample.snapshots[0]!.id);
      assert.match(opened.damaged[0]!.message, /fails to authenticate/);
    } finally {
      opened.close();
    }
  });

  test('a folder with no repository config is NotARepositoryError', async () => {
    const folder = {
      name: 'photos',
      files: [new File(['not a repository'], 'notes.txt'), new File([new Uint8Array(10)], 'a.srb')],
    };
    await assert.rejects(
      openRepository(folder, sample.key),
      (error: unknown) =>
        error instanceof NotARepositoryError && /photos is not a Strongroom repository/.test(error.message),
    );
  });

  test('the folder store only reads: put and delete refuse, and names that are no blob are left out', async () => {
    const store = new FolderBlobStore({
      name: 'picked',
      files: [new File(['x'], 'repo.config'), new File(['y'], '.DS_Store'), new File(['z'], 'repo.index.ab')],
    });
    assert.deepEqual(
      (await store.list()).map((info) => info.name),
      ['repo.config', 'repo.index.ab'],
    );
    assert.deepEqual(
      (await store.list('repo.index.')).map((info) => info.name),
      ['repo.index.ab'],
    );
    await assert.rejects(
      store.put('repo.index.cd', (async function* () {})()),
      (error: unknown) => error instanceof UsageError && /only reads/.test(error.message),
    );
    await assert.rejects(store.delete('repo.config'), UsageError);
  });
});
