// Random kill -9 rounds over three `strongroom vault node` processes and a real 3-member etcd
// cluster, on loopback (test/fleet/chaos.ts says what each round does and checks): a node that is
// only endorsing, the node the clients use, the region holding the etcd leader (node and etcd
// member together), and a majority of nodes, each with guesses in flight from several clients at
// once and from the failover client. Two rounds of each shape here; `npm run soak:fleet` runs many.
import { randomInt } from 'node:crypto';
import { after, before, it } from 'node:test';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { chaosRound, REGIONS, SCENARIOS, seededRandom } from './chaos.ts';
import { ProcessFleet } from './fleet.ts';

const PREFIX = 'chaos';
const ROUNDS_EACH = 2;

let etcd: EtcdCluster;
let fleet: ProcessFleet;

before(async () => {
  etcd = await EtcdCluster.start(3);
  fleet = await ProcessFleet.start({
    store: etcd.url(PREFIX),
    regions: REGIONS,
    nodeArgs: ['--peer-timeout', '1000', '--store-timeout', '1500'],
    startTimeoutMs: 30_000,
  });
});
after(async () => {
  await fleet?.close();
  await etcd?.destroy();
});

it('keeps every guess counted exactly through random kills of endorsers, coordinators, the etcd leader’s region and a majority', async (t) => {
  const seed = Number(process.env.STRONGROOM_CHAOS_SEED ?? randomInt(2 ** 31));
  t.diagnostic(`seed ${seed} (STRONGROOM_CHAOS_SEED=${seed} repeats the random choices)`);
  const random = seededRandom(seed);
  for (let round = 0; round < ROUNDS_EACH * SCENARIOS.length; round++) {
    const report = await chaosRound(
      { fleet, etcd, prefix: PREFIX },
      SCENARIOS[round % SCENARIOS.length]!,
      random,
    );
    t.diagnostic(
      `${report.scenario}: killed ${report.killed} at ${report.killAfterMs} ms for ${report.restartAfterMs} ms; ` +
        `${report.spends} spends, ${report.refunds} refunds, ${report.told} wrong answers, ${report.recovered} recovered, ` +
        `${report.unavailable} unavailable, ${report.failovers} failovers, ${report.conflicts} conflict refusals`,
    );
  }
});
