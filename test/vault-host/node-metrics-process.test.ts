// A real `strongroom vault node` process (test/fleet/node-process.ts spawns the CLI) serves
// Prometheus metrics on its listen address (docs/OPERATIONS.md "Vault node metrics"): scraped over
// HTTP, it counts the requests it answered, its vault operations by op and outcome, the guesses
// spent and the record store calls that failed. The Grafana dashboard in deploy/grafana refers
// only to metrics that this node and a real ChatD server export.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NO_CODE_SENDER } from '../../src/chatd/code-sender.ts';
import { ChatdServer } from '../../src/chatd/server.ts';
import { HttpVaultNode } from '../../src/chatd/vault-relay.ts';
import { WrongPasswordError } from '../../src/errors.ts';
import { HEALTH_PATH, METRICS_PATH } from '../../src/vault-host/node-server.ts';
import { ProcessFleet } from '../fleet/fleet.ts';

let fleet: ProcessFleet;
let storePath: string;
before(async () => {
  const storeDir = mkdtempSync(join(tmpdir(), 'strongroom-metrics-'));
  storePath = join(storeDir, 'records.sqlite');
  fleet = await ProcessFleet.start({ nodes: 1, store: `sqlite:${storePath}`, startTimeoutMs: 120_000 });
});
after(() => fleet?.close());

async function scrape(base: string): Promise<string> {
  const response = await fetch(new URL(METRICS_PATH, base));
  assert.equal(response.status, 200);
  return response.text();
}

describe('vault node process metrics', () => {
  it('counts health checks in GET /metrics, scraped from the running process', async () => {
    const node = fleet.nodes[0]!;
    for (let round = 0; round < 2; round++) {
      const health = await fetch(new URL(HEALTH_PATH, node.url));
      assert.equal(health.status, 200);
      await health.arrayBuffer();
    }
    const text = await scrape(node.url);
    assert.match(text, /^strongroom_vault_requests_total\{route="\/v1\/health",status="200"\} 2$/m);
    assert.match(text, /^# TYPE strongroom_vault_request_duration_seconds histogram$/m);
  });

  it('counts vault operations by op and outcome, and the guesses they spent', async () => {
    const client = fleet.clientOf(0);
    const recordId = new Uint8Array(randomBytes(16));
    await client.enable(recordId, 'right', new Uint8Array(randomBytes(32)), 5);
    await assert.rejects(client.recover(recordId, 'wrong'), WrongPasswordError);
    await client.recover(recordId, 'right');
    const text = await scrape(fleet.nodes[0]!.url);
    assert.match(text, /^strongroom_vault_operations_total\{op="registerStart",outcome="answered"\} 1$/m);
    assert.match(text, /^strongroom_vault_operations_total\{op="registerFinish",outcome="answered"\} 1$/m);
    assert.match(text, /^strongroom_vault_operations_total\{op="loginStart",outcome="answered"\} 2$/m);
    // A wrong password fails on the device (OPAQUE), which then sends no login finish.
    assert.match(text, /^strongroom_vault_operations_total\{op="loginFinish",outcome="answered"\} 1$/m);
    assert.match(text, /^strongroom_vault_operation_duration_seconds_count\{op="loginStart"\} 2$/m);
    // Each login start spends a guess; the right password's is refunded, which spends none.
    assert.match(text, /^strongroom_vault_guesses_spent_total 2$/m);
    assert.match(text, /^strongroom_vault_quorum_failures_total 0$/m);
  });

  it('counts a record store call that failed: the ping of a readiness probe with its file moved away', async () => {
    const node = fleet.nodes[0]!;
    renameSync(storePath, `${storePath}.away`);
    try {
      assert.equal((await fetch(new URL('/ready', node.url))).status, 503);
    } finally {
      renameSync(`${storePath}.away`, storePath);
    }
    assert.equal((await fetch(new URL('/ready', node.url))).status, 200);
    assert.match(await scrape(node.url), /^strongroom_vault_store_errors_total\{call="ping"\} 1$/m);
  });
});

/** Names a Prometheus text exposition defines (a histogram defines its _bucket, _sum, _count). */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
  }
  return names;
}

/** PromQL words that are not metric names (keywords, and label names after by/without are removed first). */
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
]);

/** The metric names a PromQL expression reads: identifiers that are not functions, labels or keywords. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?/g)]
    .filter(([, word, call]) => call === undefined && !PROMQL_WORDS.has(word!))
    .map(([, word]) => word!);
}

describe('the Grafana dashboard', () => {
  it('refers only to metrics a vault node and ChatD export', async () => {
    const dashboard = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../deploy/grafana/strongroom.json', import.meta.url)), 'utf8'),
    ) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    const chatd = await ChatdServer.start({
      dataDir: mkdtempSync(join(tmpdir(), 'strongroom-dashboard-chatd-')),
      vaultNodes: [new HttpVaultNode('node-0', 'local', `${fleet.nodes[0]!.url}/v1/vault`)],
      fleetIds: [fleet.publicInfo.fleetId],
      codeSender: NO_CODE_SENDER,
      metrics: true,
    });
    try {
      const chatdBase = chatd.url.replace(/^ws:/, 'http:').replace(/\/v1\/chatd$/, '');
      const exported = new Set([
        ...exportedNames(await scrape(fleet.nodes[0]!.url)),
        ...exportedNames(await scrape(chatdBase)),
      ]);
      const targets = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ panel, target })));
      assert.ok(targets.length >= 10, 'the dashboard has its panels');
      for (const { panel, target } of targets) {
        const names = metricNames(target.expr);
        assert.ok(names.length > 0, `panel "${panel.title}" reads a metric`);
        for (const name of names)
          assert.ok(exported.has(name), `panel "${panel.title}" reads ${name}, which no server exports`);
      }
    } finally {
      await chatd.close();
    }
  });
});
