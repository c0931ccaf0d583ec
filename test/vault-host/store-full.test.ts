// A record store on a full disk (the brief's "a full disk loses nothing"; docs/PROTOCOL.md §9): the
// vault answers "unavailable" (CLI exit 7) to a recovery and to a wrong guess, spends nothing and
// certifies nothing, and once there is room again the right password recovers with every guess
// still there. The full disk is a real 1 MiB tmpfs mounted by the test (CI runs as root), holding
// the SQLite record store; the nodes' NVRAM files stay on the ordinary disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UnavailableError } from '../../src/errors.ts';
import { startTestFleet, type TestFleet } from './helpers/fleet.ts';

let work: string;
let full: string;
let fleet: TestFleet;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-store-full-'));
  full = join(work, 'full');
  await mkdir(full);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`this test mounts a 1 MiB tmpfs and needs root: ${(error as Error).message}`);
  }
  fleet = await startTestFleet({ storeDir: full });
  await fleet.serve();
});

after(async () => {
  await fleet?.close();
  execFileSync('umount', [full], { stdio: 'pipe' });
  await rm(work, { recursive: true, force: true });
});

/** Writes a file into `dir` until the filesystem refuses (ENOSPC); returns its path. */
async function fillUp(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const handle = await open(path, 'w');
  try {
    for (;;) await handle.write(Buffer.alloc(4096, 1));
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await handle.close();
  }
  return path;
}

test('a full record store answers unavailable, spends no guess, and loses nothing', async () => {
  const client = fleet.client();
  const recordId = randomBytes(16);
  const key = randomBytes(32);
  await client.enable(recordId, 'right password', key, 5);
  const first = await client.recover(recordId, 'right password');
  assert.equal(first.guessesLeft, 5);

  const filler = await fillUp(full);
  await assert.rejects(client.recover(recordId, 'right password'), UnavailableError);
  await assert.rejects(client.recover(recordId, 'a wrong guess'), UnavailableError);

  await rm(filler);
  const after = await client.recover(recordId, 'right password');
  assert.deepEqual(Buffer.from(after.key.exposeBytes()), key);
  assert.equal(after.guessesLeft, 5, 'no guess was spent while the disk was full');
  assert.equal(after.failedGuessesSinceLastSuccess, 0);
});
