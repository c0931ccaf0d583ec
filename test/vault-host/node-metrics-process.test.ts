// A real `strongroom vault node` process (test/fleet/node-process.ts spawns the CLI) serves
// Prometheus metrics on its listen address: scraped over HTTP, it counts the requests it answered.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HEALTH_PATH, METRICS_PATH } from '../../src/vault-host/node-server.ts';
import { ProcessFleet } from '../fleet/fleet.ts';

let fleet: ProcessFleet;
before(async () => {
  const storeDir = mkdtempSync(join(tmpdir(), 'strongroom-metrics-'));
  fleet = await ProcessFleet.start({
    nodes: 1,
    store: `sqlite:${join(storeDir, 'records.sqlite')}`,
    startTimeoutMs: 120_000,
  });
});
after(() => fleet?.close());

describe('vault node process metrics', () => {
  it('counts health checks in GET /metrics, scraped from the running process', async () => {
    const node = fleet.nodes[0]!;
    for (let round = 0; round < 2; round++) {
      const health = await fetch(new URL(HEALTH_PATH, node.url));
      assert.equal(health.status, 200);
      await health.arrayBuffer();
    }
    const response = await fetch(new URL(METRICS_PATH, node.url));
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /^strongroom_vault_requests_total\{route="\/v1\/health",status="200"\} 2$/m);
    assert.match(text, /^# TYPE strongroom_vault_request_duration_seconds histogram$/m);
  });
});
