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

  it('takes its settings from environment variables, a flag overriding its variable', async () => {
    const fromEnv = await runCli(['vault', 'node'], {
      env: { STRONGROOM_NODE_CONFIG: config, STRONGROOM_LISTEN: '127.0.0.1:0' },
    });
    // The config and listen address came from the environment: only the store is missing.
    assert.equal(fromEnv.code, 2, fromEnv.stderr);
    assert.match(fromEnv.stderr, /strongroom: error: no record store given/);

    const flagWins = await runCli(['vault', 'node', '--listen', 'not-an-address'], {
      env: {
        STRONGROOM_NODE_CONFIG: config,
        STRONGROOM_LISTEN: '127.0.0.1:0',
        STRONGROOM_STORE: `sqlite:${join(dir, 'records.sqlite')}`,
      },
    });
    assert.equal(flagWins.code, 2, flagWins.stderr);
    assert.match(flagWins.stderr, /strongroom: error: listen address "not-an-address" is not HOST:PORT/);
  });
});
