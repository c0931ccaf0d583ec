// `npm run soak:fleet [-- --rounds N] [--minutes M] [--seed S] [--evidence DIR]`: the fault rounds
// of test/fleet/chaos.ts, many of them, over three vault node processes and a real 3-member etcd
// cluster on loopback; not part of `npm test`. It stops by itself after N rounds (default 300) or M
// minutes (default 30), whichever comes first, or at the first round that breaks an invariant.
// Whenever a round breaks one, or a node refuses an endorsement as a "conflict" (which, without a
// rollback or fork, no honest fleet should do), it keeps the evidence in DIR: the record's etcd
// history, the round's choices, every node's log lines, each node's mark for the record (read from
// its NVRAM with the nodes stopped) and an etcd snapshot. Exits 1 if any round failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { messageOf } from '../../src/errors.ts';
import { readNodeMarks } from '../../src/vault-host/repair.ts';
import { EtcdCluster } from '../helpers/etcd-cluster.ts';
import { chaosRound, REGIONS, RoundFailure, type RoundReport, SCENARIOS, seededRandom } from './chaos.ts';
import { ProcessFleet } from './fleet.ts';

const PREFIX = 'soak';
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '300' },
    minutes: { type: 'string', default: '30' },
    seed: { type: 'string' },
    evidence: { type: 'string', default: `soak-evidence-${new Date().toISOString().replace(/[:.]/g, '-')}` },
  },
});
const whole = (flag: string, text: string | undefined) => {
  if (text === undefined || !/^\d{1,7}$/.test(text) || Number(text) === 0)
    throw new Error(`--${flag} must be a whole number above 0 (got ${JSON.stringify(text)})`);
  return Number(text);
};
const rounds = whole('rounds', values.rounds);
const deadline = Date.now() + whole('minutes', values.minutes) * 60_000;
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : whole('seed', values.seed);
const evidenceRoot = resolve(values.evidence as string);
const random = seededRandom(seed);

const etcd = await EtcdCluster.start(3);
const fleet = await ProcessFleet.start({
  store: etcd.url(PREFIX),
  regions: REGIONS,
  nodeArgs: ['--peer-timeout', '1000', '--store-timeout', '1500'],
  startTimeoutMs: 30_000,
});

/** Keeps what a failed or conflicting round leaves behind; the nodes are restarted afterwards. */
async function keepEvidence(round: number, record: string, report: unknown, history: readonly string[]) {
  const dir = join(evidenceRoot, `round-${round}-${record.slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'round.json'),
    JSON.stringify(report, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2),
  );
  writeFileSync(join(dir, 'etcd-history.txt'), `${history.join('\n')}\n`);
  for (const node of fleet.nodes)
    writeFileSync(
      join(dir, `${node.name}.log.jsonl`),
      node.log.map((line) => JSON.stringify(line)).join('\n'),
    );
  await etcd.snapshot(join(dir, 'etcd.snapshot.db')).catch((error) => {
    writeFileSync(join(dir, 'etcd.snapshot.error.txt'), messageOf(error));
  });
  // A running node holds its NVRAM file: stop them all to read each one's mark for the record.
  await Promise.all(fleet.nodes.map((node) => node.kill()));
  const marks = fleet.configPaths.map((path) => {
    const read = readNodeMarks(path);
    const mark = read.marks.find((m) => Buffer.from(m.state.recordId).toString('hex') === record);
    return {
      node: read.nodeIndex,
      version: mark?.state.version.toString(),
      guessesLeft: mark?.state.guessesLeft,
      ke1PaidAt: mark?.state.ke1PaidAt?.toString(),
      from: mark?.from?.state.version.toString(),
      signers: mark?.from?.certificate.signatures.map((s) => s.nodeIndex),
    };
  });
  writeFileSync(join(dir, 'marks.json'), JSON.stringify(marks, null, 2));
  await Promise.all(fleet.nodes.map((node) => node.start(30_000)));
  console.log(`  evidence kept in ${dir}`);
}

const tally = new Map<string, { rounds: number; spends: number; conflicts: number }>();
let failed = 0;
let done = 0;
console.log(`soak: up to ${rounds} rounds or ${values.minutes} minutes, seed ${seed}`);
try {
  for (let round = 1; round <= rounds && Date.now() < deadline; round++) {
    const scenario = SCENARIOS[Math.floor(random() * SCENARIOS.length)] ?? 'endorser';
    let report: RoundReport;
    try {
      report = await chaosRound({ fleet, etcd, prefix: PREFIX }, scenario, random);
    } catch (error) {
      failed++;
      console.log(`round ${round}: FAILED: ${messageOf(error)}`);
      if (error instanceof RoundFailure) {
        console.log(error.history.map((line) => `  ${line}`).join('\n'));
        await keepEvidence(
          round,
          error.round.record ?? 'unknown',
          { ...error.round, error: messageOf(error.cause) },
          error.history,
        );
      }
      break;
    }
    done++;
    const counts = tally.get(scenario) ?? { rounds: 0, spends: 0, conflicts: 0 };
    tally.set(scenario, {
      rounds: counts.rounds + 1,
      spends: counts.spends + report.spends,
      conflicts: counts.conflicts + report.conflicts,
    });
    console.log(
      `round ${round} ${scenario}: killed ${report.killed} at ${report.killAfterMs} ms for ${report.restartAfterMs} ms; ` +
        `${report.spends} spends, ${report.refunds} refunds, ${report.told} wrong, ${report.recovered} recovered, ` +
        `${report.unavailable} unavailable, ${report.failovers} failovers, ${report.conflicts} conflicts`,
    );
    if (report.conflicts > 0) await keepEvidence(round, report.record, report, report.history);
  }
} finally {
  await fleet.close();
  await etcd.destroy();
}
console.log(`soak: ${done} rounds passed, ${failed} failed (seed ${seed})`);
for (const [scenario, counts] of tally)
  console.log(
    `  ${scenario}: ${counts.rounds} rounds, ${counts.spends} spends, ${counts.conflicts} conflict refusals`,
  );
process.exit(failed > 0 ? 1 : 0);
