// `strongroom vault node` (src/cli/commands/vault.ts) refusing to start without what it needs,
// with exit code 2 and a hint naming the missing setting. Running nodes are tested in test/fleet.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFleet } from '../../src/hsm-platform/ceremony.ts';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-vault-cli-'));
let config: string;
before(async () => {
  const fleet = await createFleet({ dir: join(dir, 'fleet'), nodes: 1, keystore: { kind: 'software' } });
  config = fleet.nodeConfigPaths[0] as string;
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('strongroom vault node', () => {
  it('refuses to start without a record store', async () => {
    const result = await runCli(['vault', 'node', '--config', config, '--listen', '127.0.0.1:0']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /strongroom: error: no record store given/);
    assert.match(result.stderr, /hint: pass --store sqlite:PATH or --store etcd:\/\//);
  });

  it('refuses to start without a listen address', async () => {
    const result = await runCli([
      'vault',
      'node',
      '--config',
      config,
      '--store',
      `sqlite:${join(dir, 'records.sqlite')}`,
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /strongroom: error: listen address "" is not HOST:PORT/);
    assert.match(result.stderr, /hint: pass --listen host:port or set "listen" in/);
  });
});
