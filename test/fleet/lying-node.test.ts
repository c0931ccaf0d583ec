// A lying node (docs/PROTOCOL.md §9, step 3: a certificate needs a quorum of valid
// signatures of distinct members): node 2's address is taken over by an impostor that answers
// every endorse request at once — by replaying an endorsement the real node 2 made for an earlier
// state, or with a garbage signature. Its statements must count toward nothing: operations still
// complete with the two honest nodes, and no committed certificate carries them.
import assert from 'node:assert/strict';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import { WrongPasswordError } from '../../src/errors.ts';
import { READY } from '../../src/observability/probes.ts';
import { deserializeCoreResponse, serializeCoreResponse } from '../../src/protocol/vault/core-rpc.ts';
import { CertifiedState } from '../../src/protocol/vault/record.ts';
import { openRecordStore } from '../../src/stores/record/index.ts';
import type { RecordStore } from '../../src/stores/record/record-store.ts';
import { postBytes } from '../../src/vault-host/binary-http.ts';
import { certificateVerifies } from '../../src/vault-host/endorsement-check.ts';
import { ENDORSE_PATH, type RunningNodeServer, startNodeServer } from '../../src/vault-host/node-server.ts';
import { EtcdCluster, freePorts } from '../helpers/etcd-cluster.ts';
import { ProcessFleet } from './fleet.ts';
import { NodeProcess } from './node-process.ts';

const randomBytes = (length: number) => new Uint8Array(nodeRandomBytes(length));

let etcd: EtcdCluster;
let fleet: ProcessFleet;
let store: RecordStore;
let impostor: RunningNodeServer | undefined;
let realNode2: NodeProcess | undefined;

before(async () => {
  etcd = await EtcdCluster.start(3);
  const url = etcd.url('liar');
  fleet = await ProcessFleet.start({ store: url, nodeArgs: ['--peer-timeout', '1000'] });
  store = openRecordStore(url);
});
after(async () => {
  await impostor?.close();
  await realNode2?.kill();
  await store?.close();
  await fleet?.close();
  await etcd?.destroy();
});

/** Serves node 2's configured address; `answer` makes the reply to each endorse request. */
async function takeOverNode2(answer: (request: Uint8Array) => Promise<Uint8Array>): Promise<void> {
  await impostor?.close();
  const address = new URL(fleet.nodes[2]?.url as string);
  impostor = await startNodeServer(
    {
      client: async () => ({ frame: new Uint8Array(0), activity: { guessesSpent: 0 } }),
      endorse: answer,
      health: () => ({ node: 'node-2', region: 'local', ok: true }),
      ready: async () => READY,
    },
    { host: address.hostname, port: Number(address.port) },
  );
}

async function expectHonestCertificate(recordId: Uint8Array): Promise<void> {
  const slot = await store.get(recordId);
  assert.ok(slot?.committed);
  const certified = CertifiedState.deserialize(slot.committed);
  assert.ok(certificateVerifies(fleet.publicInfo, certified), 'the committed certificate verifies');
  assert.ok(
    certified.certificate.signatures.every((s) => s.nodeIndex !== 2),
    'no statement of the impostor is in the certificate',
  );
}

it('counts neither replayed endorsements nor garbage signatures from a lying node', async () => {
  const recordId = randomBytes(16);
  const key = randomBytes(32);
  const client = fleet.clientOf(0);

  // The real node 2 moves to another port behind a relay on its address that records what it
  // signs: those are the old endorsements a liar can replay.
  const [port] = await freePorts(1);
  await fleet.nodes[2]?.kill();
  realNode2 = new NodeProcess('node-2-real', [
    '--config',
    fleet.configPaths[2] as string,
    '--listen',
    `127.0.0.1:${port}`,
  ]);
  await realNode2.start();
  const signedByNode2: Uint8Array[] = [];
  await takeOverNode2(async (request) => {
    const answer = await postBytes(new URL(ENDORSE_PATH, realNode2?.url), request, { timeoutMs: 5000 });
    if (deserializeCoreResponse(answer).type === 'endorsement') signedByNode2.push(answer);
    return answer;
  });
  await client.enable(recordId, 'right', key, 5);
  // The create commits as soon as a quorum signed; node 2, one relay hop further away, may answer
  // just after: wait for its endorsement (the old statement to replay below).
  for (let waited = 0; signedByNode2.length === 0 && waited < 5000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(signedByNode2.length > 0, 'node 2 endorsed the create');
  await realNode2.kill();

  // Replay: every request gets node 2's old endorsement of the create, answered first.
  const old = signedByNode2[0] as Uint8Array;
  await takeOverNode2(async () => old);
  await assert.rejects(client.recover(recordId, 'wrong'), WrongPasswordError);
  await expectHonestCertificate(recordId);

  // Garbage: a well-formed endorsement whose signature verifies under no key.
  await takeOverNode2(async () =>
    serializeCoreResponse({ type: 'endorsement', nodeIndex: 2, signature: randomBytes(64) }),
  );
  const recovered = await client.recover(recordId, 'right');
  assert.deepEqual(recovered.key.exposeBytes(), key);
  assert.equal(recovered.failedGuessesSinceLastSuccess, 1);
  await expectHonestCertificate(recordId);

  // Node 0's operator is told, once per record and version, that node 2 lies.
  const reports = fleet.nodes[0]?.events('invalid-endorsement') ?? [];
  assert.ok(reports.length > 0);
  for (const report of reports) {
    assert.equal(report.peer, 2);
    assert.equal(report.record, Buffer.from(recordId).toString('hex'));
    assert.match(String(report.msg), /invalid endorsement.*not counted/);
  }
});
