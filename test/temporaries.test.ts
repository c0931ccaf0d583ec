// Leftovers of dead runs (src/temporaries.ts; docs/BACKUP.md "Interrupted runs"): removed when
// their owner ran on this host and is gone; a live run's, another host's, and names that only look
// alike are kept.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeDeadTemporaries, temporaryName } from '../src/temporaries.ts';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-temporaries-'));
});
after(() => rm(work, { recursive: true, force: true }));

/** The pid of a process that has exited: a run that was killed. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

describe('removeDeadTemporaries', () => {
  it("removes a dead run's files and directories, and keeps everything else", async () => {
    const prefix = '.out.strongroom-';
    const mine = temporaryName(prefix); // this process: alive
    const [, , host] = /^(\d+)-([0-9a-f]{8})-/.exec(mine.slice(prefix.length))!;
    const dead = await deadPid();
    const deadFile = `${prefix}${dead}-${host}-0123456789ab`;
    const deadDir = `${prefix}${dead}-${host}-ba9876543210`;
    const otherHost = `${prefix}${dead}-${host === '00000000' ? '11111111' : '00000000'}-0123456789ab`;
    const unlike = [`${prefix}restore-${dead}-${host}-0123456789ab`, `${prefix}notes`, 'out'];
    for (const name of [mine, deadFile, otherHost, ...unlike]) await writeFile(join(work, name), 'x');
    await mkdir(join(work, deadDir));
    await writeFile(join(work, deadDir, 'inside'), 'x');

    await removeDeadTemporaries(work, prefix);
    assert.deepEqual((await readdir(work)).sort(), [mine, otherHost, ...unlike].sort());
  });

  it('does nothing where the directory does not exist yet', async () => {
    await removeDeadTemporaries(join(work, 'absent'), '.partial-');
    assert.deepEqual(await readdir(work).then((names) => names.includes('absent')), false);
  });
});
