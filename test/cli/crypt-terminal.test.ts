// `strongroom encrypt` and a terminal (README "CLI"): like age, it refuses to write the binary
// backup stream to a terminal, on a real pseudo-terminal (test/helpers/terminal.ts); decrypt's
// plaintext may go there.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { runCliInTerminal } from '../helpers/terminal.ts';

describe('encrypt on a terminal', () => {
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crypt-tty-'));
    writeFileSync(join(dir, 'chat.txt'), 'hello from the terminal test\n');
    env = { STRONGROOM_KEY: (await runCli(['keygen'])).stdout };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to write the stream to a terminal, with a hint, and writes nothing', async () => {
    const run = await runCliInTerminal(['encrypt', join(dir, 'chat.txt')], [], { env });
    assert.equal(run.code, 2, run.screen);
    assert.equal(
      run.screen,
      [
        'strongroom: error: refusing to write a binary backup stream to a terminal',
        'strongroom: hint: pass -o FILE, or redirect stdout: strongroom encrypt ... > FILE',
        '',
      ].join('\n'),
    );
  });

  it('writes with -o on a terminal, and decrypt shows the plaintext there', async () => {
    const encrypted = join(dir, 'chat.srb');
    const run = await runCliInTerminal(['encrypt', '-o', encrypted, join(dir, 'chat.txt')], [], { env });
    assert.equal(run.code, 0, run.screen);
    const shown = await runCliInTerminal(['decrypt', encrypted], [], { env });
    assert.equal(shown.code, 0, shown.screen);
    assert.match(shown.screen, /^hello from the terminal test$/m);
  });
});
