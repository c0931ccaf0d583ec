// The demo's generator and verifier (src/demo): same seed, same tree; compareTrees finds a changed
// byte, a changed mode, a missing and an extra file.
import assert from 'node:assert/strict';
import { appendFile, chmod, mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { compareTrees } from '../../src/demo/compare-trees.ts';
import { generateSampleHistory } from '../../src/demo/sample-history.ts';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'strongroom-demo-test-'));
});
after(() => rm(work, { recursive: true, force: true }));

const options = { seed: 3, mediaBytes: 2_000_000, messages: 1500 };

describe('sample history', () => {
  it('is deterministic from its seed and holds a real message database', async () => {
    const a = await generateSampleHistory(join(work, 'a'), options);
    await generateSampleHistory(join(work, 'b'), options);
    assert.deepEqual((await compareTrees(join(work, 'a'), join(work, 'b'))).differences, []);
    assert.ok(a.bytes >= options.mediaBytes);
    const db = new Database(join(work, 'a', 'messages.db'), { readonly: true });
    const { n } = db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number };
    const chats = db.prepare('SELECT count(DISTINCT chat_id) AS c FROM messages').get() as { c: number };
    db.close();
    assert.equal(n, 1500);
    assert.equal(chats.c, a.chats);
    await generateSampleHistory(join(work, 'c'), { ...options, seed: 4 });
    assert.ok((await compareTrees(join(work, 'a'), join(work, 'c'))).differences.length > 0);
  });

  it('compareTrees reports changed content, modes, missing and extra entries', async () => {
    const copy = join(work, 'copy');
    await generateSampleHistory(copy, options); // the same tree, as the first test showed
    assert.deepEqual((await compareTrees(join(work, 'a'), copy)).differences, []);
    const [first, second] = (await readdir(join(copy, 'media'))).sort() as [string, string];
    await appendFile(join(copy, 'media', first), 'x');
    await chmod(join(copy, 'messages.db'), 0o600);
    await unlink(join(copy, 'media', second));
    await writeFile(join(copy, 'extra'), '');
    const { differences } = await compareTrees(join(work, 'a'), copy);
    assert.ok(differences.includes(`media/${first}: size differs`), differences.join('\n'));
    assert.ok(differences.includes('messages.db: mode differs'), differences.join('\n'));
    assert.ok(differences.includes(`media/${second}: missing from the restore`), differences.join('\n'));
    assert.ok(differences.includes('extra: not in the original'));
  });
});
