// `strongroom vault node --config FILE`: runs one vault node (docs/ARCHITECTURE.md "Processes and deployment")
// — host, core, keystore, NVRAM file and record store — until SIGTERM or SIGINT.
// It logs JSON lines (pino) on standard error in the shape every server shares
// (docs/OPERATIONS.md "Logs"): `event` names what happened, e.g. "listening", "vault-request" (one
// per client request), "endorsement-refused" (a stale or forked record was shown to the nodes).
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { RepairIncompleteError, StrongroomError, UsageError } from '../../errors.ts';
import { serverLogger } from '../../observability/log.ts';
import { FleetPublicInfo } from '../../protocol/fleet.ts';
import { openRecordStore } from '../../stores/record/index.ts';
import { readNodeMarks, repairRecordStore } from '../../vault-host/repair.ts';
import { startVaultNode } from '../../vault-host/vault-node.ts';

interface NodeOptions {
  config: string;
  store?: string;
  listen?: string;
  peerTimeout: string;
  storeTimeout: string;
}

function milliseconds(flag: string, text: string): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) === 0) {
    throw new UsageError(`${flag} must be a whole number of milliseconds (got ${JSON.stringify(text)})`);
  }
  return Number(text);
}

/** An etcd operation may retry a call on another member: each call gets a third of the bound. */
function storeTimeouts(operationTimeoutMs: number) {
  return { operationTimeoutMs, callTimeoutMs: Math.max(1, Math.floor(operationTimeoutMs / 3)) };
}

async function runNode(options: NodeOptions): Promise<void> {
  const log = serverLogger('vault-node');
  const node = await startVaultNode({
    configPath: options.config,
    store: options.store,
    listen: options.listen,
    peerTimeoutMs: milliseconds('--peer-timeout', options.peerTimeout),
    storeTimeouts: storeTimeouts(milliseconds('--store-timeout', options.storeTimeout)),
    log,
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ event: 'stopping', signal }, `vault node ${node.name} stopping (${signal})`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await node.close();
}

interface RepairOptions {
  fleetPub: string;
  store: string;
  dryRun?: boolean;
}

/** `strongroom fleet repair`: rebuilds the record store from stopped nodes' NVRAM marks. */
async function runRepair(configs: string[], options: RepairOptions): Promise<void> {
  let fleet: FleetPublicInfo;
  try {
    fleet = FleetPublicInfo.deserialize(readFileSync(options.fleetPub));
  } catch (error) {
    throw new UsageError(`cannot read fleet.pub from ${JSON.stringify(options.fleetPub)}`, { cause: error });
  }
  const nodes = configs.map((config) => readNodeMarks(config));
  const store = openRecordStore(options.store);
  try {
    const report = await repairRecordStore(store, fleet, nodes, { dryRun: options.dryRun });
    const counts = { rebuilt: 0, unchanged: 0, 'possibly-behind': 0, unrecoverable: 0 };
    const was = (previous: bigint | undefined) => (previous === undefined ? 'absent' : `version ${previous}`);
    for (const record of report.records) {
      counts[record.outcome]++;
      if (record.outcome === 'rebuilt') {
        process.stdout.write(
          `rebuilt ${record.record} at version ${record.version} (store had: ${was(record.previous)})\n`,
        );
      } else if (record.outcome === 'possibly-behind') {
        const done = record.written
          ? `rebuilt at version ${record.version} (store had: ${was(record.previous)})`
          : `at version ${record.version}`;
        process.stdout.write(
          `possibly behind ${record.record}: ${done}, but a node read marks version ${record.markedUpTo}\n`,
        );
      } else if (record.outcome === 'unrecoverable') {
        process.stdout.write(`could not rebuild ${record.record}: ${record.reason}\n`);
      }
    }
    const verb = options.dryRun ? 'would rebuild' : 'rebuilt';
    process.stdout.write(
      `repair: ${counts.rebuilt} ${verb}, ${counts.unchanged} already current, ${counts['possibly-behind']} possibly behind, ` +
        `${counts.unrecoverable} could not be rebuilt, from ${report.nodesRead} of ${report.members} nodes ` +
        `(${report.invalidMarks} invalid mark${report.invalidMarks === 1 ? '' : 's'} ignored)\n`,
    );
    if (counts.unrecoverable > 0) {
      throw new StrongroomError(
        `${counts.unrecoverable} record${counts.unrecoverable === 1 ? '' : 's'} could not be rebuilt`,
        {
          hints: ['read the NVRAM of more nodes (every node config of the fleet) and run repair again'],
        },
      );
    }
    if (counts['possibly-behind'] > 0) {
      const n = counts['possibly-behind'];
      throw new RepairIncompleteError(
        `${n} record${n === 1 ? '' : 's'} may be behind their latest certified state: only ${report.nodesRead} of ${report.members} nodes were read`,
        {
          hints: [
            'a later version may be certified by the nodes not read; those records answer "unavailable" until then',
            'stop every node and run repair again with every node config of the fleet',
          ],
        },
      );
    }
  } finally {
    await store.close();
  }
}

/**
 * Adds `repair` to the `fleet` command group (src/cli/commands/fleet.ts registers the group; this
 * file owns the record-store side of the fleet).
 */
function registerFleetRepair(program: Command): void {
  const fleet = program.commands.find((command) => command.name() === 'fleet') ?? program.command('fleet');
  fleet
    .command('repair')
    .description(
      "rebuild the record store from the nodes' NVRAM marks (disaster recovery; stop the nodes first)",
    )
    .argument(
      '<node-config...>',
      'node configs of the fleet (node-N/node.json), every node: from fewer it exits 8 when a record may be behind, and from fewer than a quorum it rebuilds nothing',
    )
    .requiredOption('--fleet-pub <file>', "the fleet's fleet.pub (membership, keys and quorum)")
    .requiredOption('--store <url>', 'record store to repair: sqlite:PATH or etcd://host:port[,...][/prefix]')
    .option('--dry-run', 'report what would be rebuilt without writing')
    .action((configs: string[], options: RepairOptions) => runRepair(configs, options));
}

export function registerVault(program: Command): void {
  registerFleetRepair(program);
  const vault = program.command('vault').description('Run the Backup Key Vault');
  vault
    .command('node')
    .description('Run one vault node: its HSM core, host, NVRAM and record store, serving HTTP')
    // Settings: flag > environment variable > node config file > default (docs/OPERATIONS.md "Settings").
    .addOption(
      new Option('--config <file>', 'node config written by `strongroom fleet init`')
        .env('STRONGROOM_NODE_CONFIG')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--store <url>',
        'record store: sqlite:PATH or etcd://host:port[,host:port...][/prefix] (default: the config)',
      ).env('STRONGROOM_STORE'),
    )
    .addOption(
      new Option('--listen <host:port>', 'address to serve on (default: the config)').env(
        'STRONGROOM_LISTEN',
      ),
    )
    .option('--peer-timeout <ms>', 'how long to wait for another node before counting it as down', '3000')
    .option('--store-timeout <ms>', 'bound on one etcd operation before answering "unavailable"', '3000')
    .action((options: NodeOptions) => runNode(options));
}
