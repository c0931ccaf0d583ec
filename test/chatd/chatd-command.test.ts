// `strongroom chatd --config FILE` (src/cli/commands/chatd.ts; docs/CHATD.md "Running ChatD alone")
// as a real process: it prints `listening on URL`, relays to its own region's node first (the
// region coming from fleet.pub) and fails over to another region's, serves /health and the web page, stops cleanly
// on SIGINT; a bad config, a malformed store flag or an unknown node is a usage error (exit 2);
// the store flags at work are in test/fleet/chatd-shared-races.test.ts. The vault nodes are the
// echo HTTP servers of helpers.ts (real sockets; the real fleet is test/fleet/chatd-regions.test.ts).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CHATD_CONFIG_FORMAT } from '../../src/chatd/config.ts';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceIdentity } from '../../src/client/chatd/identity.ts';
import { ChatdVaultTransport } from '../../src/client/chatd/vault-transport.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { defaultWebRoot } from '../../src/web/serve.ts';
import { runCli } from '../helpers/cli.ts';
import { EchoVaultNode, testFleet, vaultFrame } from './helpers.ts';

const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const baseUrl = (node: EchoVaultNode) => `http://127.0.0.1:${(node.server.address() as AddressInfo).port}`;

describe('strongroom chatd', () => {
  let dir: string;
  let eu: EchoVaultNode;
  let us: EchoVaultNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chatd-cmd-'));
    eu = await EchoVaultNode.start();
    us = await EchoVaultNode.start();
    // node-0 is in us and node-1 in eu (fleet.pub says so; the config does not repeat it).
    writeFileSync(join(dir, 'fleet.pub'), testFleet(['us', 'eu']).toText());
  });
  after(async () => {
    await eu.close();
    await us.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function writeConfig(name: string, fields: Record<string, unknown> = {}): string {
    const path = join(dir, name);
    const config = {
      format: CHATD_CONFIG_FORMAT,
      listen: '127.0.0.1:0',
      region: 'eu',
      dataDir: 'data',
      fleetPub: 'fleet.pub',
      nodes: [
        { name: 'node-0', url: baseUrl(us) },
        { name: 'node-1', url: baseUrl(eu) },
      ],
      relayTimeoutMs: 500,
      ...fields,
    };
    writeFileSync(path, JSON.stringify(config));
    return path;
  }

  it('relays to its own region first, fails over to another, and stops on SIGINT', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', mainTs, 'chatd', '--config', writeConfig('chatd.json'), '--dev-codes'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitFor = async (pattern: RegExp) => {
      for (let waited = 0; waited < 60_000; waited += 50) {
        const match = pattern.exec(stdout);
        if (match) return match;
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`chatd never printed ${pattern}:\n${stderr}`);
    };
    let client: ChatdClient | undefined;
    try {
      const url = (await waitFor(/^listening on (ws:\/\/127\.0\.0\.1:\d+\/v1\/chatd)$/m))[1]!;
      const http = url.replace(/^ws:/, 'http:').replace('/v1/chatd', '');
      assert.equal(await (await fetch(`${http}/health`)).text(), 'ok\n');
      // The page at / when it is built; without a build ChatD still serves, without the page.
      const index = join(defaultWebRoot(), 'index.html');
      const page = await fetch(`${http}/`);
      if (existsSync(index)) {
        assert.equal(page.status, 200);
        assert.equal(await page.text(), readFileSync(index, 'utf8'));
      } else {
        assert.equal(page.status, 404);
        assert.match(stderr, /serving ChatD without the backup opener page/);
      }
      client = await ChatdClient.connect({
        url,
        identity: DeviceIdentity.generate('hana'),
        openSocket: openNodeSocket,
      });
      await client.requestJoinCode();
      await client.submitJoinCode((await waitFor(/^code hana (\d{8})$/m))[1]!);
      const transport = new ChatdVaultTransport(client);

      await transport.exchange(vaultFrame('hana'));
      assert.deepEqual([eu.hits, us.hits], [1, 0], 'the eu node, listed second, is tried first');
      eu.behaviour = 'http-500';
      await transport.exchange(vaultFrame('hana'));
      assert.deepEqual([eu.hits, us.hits], [2, 1], 'the eu node failed; the us node answered');
      assert.match(stderr, /"node":"node-1","region":"eu".*vault node failed/);
      assert.equal(stdout.match(/^code /gm)?.length, 1, 'one `code USER CODE` line per join code');
    } finally {
      client?.close();
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, 'a clean stop on SIGINT');
  });

  it('refuses a missing or malformed config with a usage error', async () => {
    const missing = await runCli(['chatd', '--config', join(dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read ChatD config .*nope\.json/);
    const typo = await runCli(['chatd', '--config', writeConfig('typo.json', { regoin: 'eu' })]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown field "regoin"/);
  });

  it('takes --config and --listen from the environment, a flag over its variable over the file', async () => {
    const config = writeConfig('settings.json');
    const fromEnv = await runCli(['chatd'], {
      env: { STRONGROOM_CHATD_CONFIG: config, STRONGROOM_LISTEN: 'env-address' },
    });
    assert.equal(fromEnv.code, 2, fromEnv.stderr);
    assert.match(
      fromEnv.stderr,
      /listen address "env-address" is not HOST:PORT/,
      'the variable beats the file',
    );
    const flagWins = await runCli(['chatd', '--listen', 'flag-address'], {
      env: { STRONGROOM_CHATD_CONFIG: config, STRONGROOM_LISTEN: 'env-address' },
    });
    assert.equal(flagWins.code, 2, flagWins.stderr);
    assert.match(flagWins.stderr, /listen address "flag-address" is not HOST:PORT/);
    const fileOnly = await runCli([
      'chatd',
      '--config',
      writeConfig('bad-listen.json', { listen: 'file-address' }),
    ]);
    assert.equal(fileOnly.code, 2, fileOnly.stderr);
    assert.match(fileOnly.stderr, /listen address "file-address" is not HOST:PORT/);
  });

  it('refuses a malformed --account-store or --blob-store with a usage error naming the flag', async () => {
    const config = writeConfig('flags.json');
    const sqlite = await runCli(['chatd', '--config', config, '--account-store', 'sqlite:/tmp/a']);
    assert.equal(sqlite.code, 2, sqlite.stderr);
    assert.match(
      sqlite.stderr,
      /^strongroom: error: --account-store "sqlite:\/tmp\/a" must be etcd:\/\/host:port\[,host:port\.\.\.\]\[\/prefix\]$/m,
    );
    assert.match(sqlite.stderr, /^strongroom: hint: docs\/CHATD\.md "ChatD across regions"/m);
    const noHost = await runCli(['chatd', '--config', config, '--account-store', 'etcd://nohost']);
    assert.equal(noHost.code, 2, noHost.stderr);
    assert.match(noHost.stderr, /^strongroom: error: malformed etcd store URL "etcd:\/\/nohost"$/m);
    const directory = await runCli(['chatd', '--config', config, '--blob-store', '/srv/blobs']);
    assert.equal(directory.code, 2, directory.stderr);
    assert.match(
      directory.stderr,
      /^strongroom: error: --blob-store "\/srv\/blobs" must be s3:\/\/bucket\[\/prefix\]$/m,
    );
    assert.match(directory.stderr, /^strongroom: hint: /m);
  });

  it('refuses a node that is not in fleet.pub, and a missing fleet.pub', async () => {
    const stranger = await runCli([
      'chatd',
      '--config',
      writeConfig('stranger.json', { nodes: [{ name: 'node-9', url: baseUrl(eu) }] }),
    ]);
    assert.equal(stranger.code, 2);
    assert.match(stranger.stderr, /node node-9 is not a member of the fleet/);
    const noFleet = await runCli([
      'chatd',
      '--config',
      writeConfig('nofleet.json', { fleetPub: 'missing.pub' }),
    ]);
    assert.equal(noFleet.code, 2);
    assert.match(noFleet.stderr, /cannot read fleet\.pub .*missing\.pub/);
  });
});
