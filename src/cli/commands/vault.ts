// `strongroom vault node --config FILE`: runs one vault node (docs/ARCHITECTURE.md "Deployment";
// DESIGN section 4) — host, core, keystore, NVRAM file and record store — until SIGTERM or SIGINT.
// It logs JSON lines (pino) on standard output: `event` names what happened, e.g. "listening",
// "endorsement-refused" (a stale or forked record was shown to the nodes), "request-failed".
import type { Command } from 'commander';
import pino from 'pino';
import { UsageError } from '../../errors.ts';
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
  const log = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ sync: true }));
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

export function registerVault(program: Command): void {
  const vault = program.command('vault').description('Run the Backup Key Vault');
  vault
    .command('node')
    .description('Run one vault node: its HSM core, host, NVRAM and record store, serving HTTP')
    .requiredOption('--config <file>', 'node config written by `strongroom fleet init`')
    .option('--store <url>', 'record store: sqlite:PATH or etcd://host:port[,host:port...][/prefix] (default: the config)')
    .option('--listen <host:port>', 'address to serve on (default: the config)')
    .option('--peer-timeout <ms>', 'how long to wait for another node before counting it as down', '3000')
    .option('--store-timeout <ms>', 'bound on one etcd operation before answering "unavailable"', '3000')
    .action((options: NodeOptions) => runNode(options));
}
