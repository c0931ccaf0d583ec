// Tests of src/hsm-platform/nvram.ts: values survive reopening and a SIGKILL right after `put`
// resolves; a put is visible at once and concurrent puts share durable writes (group commit);
// listing by key prefix; one process at a time; bad sizes refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NvramFile } from '../../src/hsm-platform/nvram.ts';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-nvram-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (...values: number[]) => Uint8Array.from(values);

describe('NvramFile', () => {
  test('get, put, overwrite, entries in key order, survive reopening', async () => {
    const path = join(dir, 'a', 'nvram.db');
    const nvram = new NvramFile(path);
    assert.equal(nvram.get(bytes(1)), undefined);
    await nvram.put(bytes(2), bytes(20));
    await nvram.put(bytes(1), bytes(10));
    await nvram.put(bytes(1), bytes(11, 12));
    assert.deepEqual(nvram.get(bytes(1)), bytes(11, 12));
    assert.deepEqual(
      [...nvram.entries(new Uint8Array(0))],
      [
        [bytes(1), bytes(11, 12)],
        [bytes(2), bytes(20)],
      ],
    );
    nvram.close();
    const reopened = new NvramFile(path);
    assert.deepEqual(reopened.get(bytes(1)), bytes(11, 12));
    assert.deepEqual(reopened.get(bytes(2)), bytes(20));
    reopened.close();
  });

  test('a put is visible at once; concurrent puts share durable writes and all survive', async () => {
    const path = join(dir, 'group.db');
    const nvram = new NvramFile(path);
    const puts = Array.from({ length: 40 }, (_, i) => {
      const done = nvram.put(bytes(1, i), bytes(i));
      // Before it is durable, get already sees it: the core's mark check relies on that.
      assert.deepEqual(nvram.get(bytes(1, i)), bytes(i));
      return done;
    });
    await Promise.all(puts);
    assert.ok(nvram.durableWrites >= 1);
    assert.ok(nvram.durableWrites <= 2, `40 concurrent puts took ${nvram.durableWrites} fdatasyncs`);
    nvram.close();
    const reopened = new NvramFile(path);
    for (let i = 0; i < 40; i++) assert.deepEqual(reopened.get(bytes(1, i)), bytes(i));
    reopened.close();
  });

  test('entries lists exactly the keys under a prefix', async () => {
    const nvram = new NvramFile(join(dir, 'prefix.db'));
    const mark = new TextEncoder().encode('mark/');
    await Promise.all([
      nvram.put(Uint8Array.of(...mark, 1), bytes(1)),
      nvram.put(Uint8Array.of(...mark, 2), bytes(2)),
      nvram.put(new TextEncoder().encode('mark0'), bytes(3)), // sorts right after the prefix
      nvram.put(new TextEncoder().encode('mar'), bytes(4)),
    ]);
    assert.deepEqual(
      [...nvram.entries(mark)].map(([, value]) => value),
      [bytes(1), bytes(2)],
    );
    nvram.close();
  });

  test('a second opener of the same file is refused while the first holds it', () => {
    const path = join(dir, 'b.db');
    const first = new NvramFile(path);
    assert.throws(() => new NvramFile(path), /is another vault host using this node/);
    first.close();
    new NvramFile(path).close();
  });

  test('a value put just before the process is killed is there afterwards', async () => {
    const path = join(dir, 'killed.db');
    const module = fileURLToPath(new URL('../../src/hsm-platform/nvram.ts', import.meta.url));
    const script = `
      import { NvramFile } from ${JSON.stringify(module)};
      const nvram = new NvramFile(${JSON.stringify(path)});
      await nvram.put(Uint8Array.of(7), Uint8Array.of(7, 7, 7));
      process.stdout.write('put\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const nvram = new NvramFile(path);
    assert.deepEqual(nvram.get(bytes(7)), bytes(7, 7, 7));
    nvram.close();
  });

  test('refuses empty and oversized keys and oversized values', () => {
    const nvram = new NvramFile(join(dir, 'c.db'));
    assert.throws(() => nvram.put(new Uint8Array(0), bytes(1)), /NVRAM key must be 1 to 1024 bytes/);
    assert.throws(() => nvram.get(new Uint8Array(1025)), /NVRAM key/);
    assert.throws(() => nvram.put(bytes(1), new Uint8Array((1 << 20) + 1)), /NVRAM value longer/);
    assert.deepEqual([...nvram.entries(new Uint8Array(0))], []);
    nvram.close();
  });
});
