// What real `strongroom vault node` processes log through an enable and a recovery
// (docs/OPERATIONS.md "Logs"): one `vault-request` line per client request, in the shape every
// server shares (service, node, op, recordIdHash, outcome, durationMs), and never the password,
// the backup key K, or any request or response frame, in hex, base64 or base64url.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpVaultNode, VaultRelay } from '../../src/chatd/vault-relay.ts';
import { VaultClient } from '../../src/client/vault/client.ts';
import { WrongPasswordError } from '../../src/errors.ts';
import { recordIdHash } from '../../src/observability/log.ts';
import { eventually } from '../helpers/eventually.ts';
import { ProcessFleet, TEST_ARGON2ID } from './fleet.ts';

let storeDir: string;
let fleet: ProcessFleet;
before(async () => {
  storeDir = mkdtempSync(join(tmpdir(), 'strongroom-log-secrets-'));
  fleet = await ProcessFleet.start({
    store: `sqlite:${join(storeDir, 'records.sqlite')}`,
    startTimeoutMs: 120_000,
  });
});
after(async () => {
  await fleet?.close();
  rmSync(storeDir, { recursive: true, force: true });
});

/** Every way a byte string could be written into a log line. */
function encodings(bytes: Uint8Array): string[] {
  const buffer = Buffer.from(bytes);
  return [buffer.toString('hex'), buffer.toString('base64'), buffer.toString('base64url')];
}

describe('vault node logs', () => {
  it('log one line per request with no password, key or frame bytes in them', async () => {
    const frames: Uint8Array[] = [];
    const relay = new VaultRelay(
      fleet.publicInfo.members.map(
        (member) =>
          new HttpVaultNode(member.name, member.region, `${fleet.nodes[member.index]?.url}/v1/vault`),
      ),
      { backoffMs: 0 },
    );
    const client = new VaultClient({
      fleet: fleet.publicInfo,
      transport: {
        exchange: async (request) => {
          frames.push(request);
          const answer = await relay.exchange(request);
          frames.push(answer);
          return answer;
        },
      },
      argon2id: TEST_ARGON2ID,
    });
    const password = `correct horse ${randomBytes(6).toString('hex')}`;
    const key = new Uint8Array(randomBytes(32));
    const recordId = new Uint8Array(randomBytes(16));
    await client.enable(recordId, password, key, 5);
    await assert.rejects(client.recover(recordId, 'not the password'), WrongPasswordError);
    const recovered = await client.recover(recordId, password);
    assert.deepEqual(recovered.key.exposeBytes(), key);

    const requests = frames.length / 2;
    const vaultLines = () => fleet.nodes.flatMap((node) => node.events('vault-request'));
    await eventually(
      async () => vaultLines().length,
      (count) => count >= requests,
      `${requests} vault-request lines are logged`,
      60_000,
    );
    const hash = recordIdHash(recordId);
    for (const line of vaultLines()) {
      assert.equal(line.service, 'vault-node');
      assert.match(String(line.node), /^node-\d$/);
      assert.match(String(line.op), /^(status|registerStart|registerFinish|loginStart|loginFinish)$/);
      assert.equal(line.recordIdHash, hash);
      assert.equal(line.outcome, 'answered');
      assert.equal(typeof line.durationMs, 'number');
    }
    assert.deepEqual(
      new Set(vaultLines().map((line) => line.op)),
      new Set(['registerStart', 'registerFinish', 'loginStart', 'loginFinish']),
    );

    const logText = fleet.nodes.flatMap((node) => node.log.map((line) => JSON.stringify(line))).join('\n');
    const secrets = [
      password,
      ...encodings(key),
      ...frames.flatMap(encodings),
      // The record id itself: lines carry only its hash.
      ...encodings(recordId),
    ];
    for (const secret of secrets) assert.ok(!logText.includes(secret), 'a secret or frame is in the log');
  });
});
