// `strongroom fleet init`: the key ceremony (docs/CEREMONY.md). Parses the
// command line and runs createFleet (src/hsm-platform/ceremony.ts); the PKCS#11 PIN comes from an
// environment variable, never the command line, which other users can read in the process list.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { type CeremonyKeystore, createFleet, DEFAULT_MAX_GUESSES } from '../../hsm-platform/ceremony.ts';
import { parseListenAddress } from '../../listen-address.ts';
import { DEFAULT_PIN_ENV, NodeConfig } from '../../vault-host/node-config.ts';

const DEFAULT_PKCS11_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

interface InitOptions {
  nodes: string;
  out: string;
  regions?: string;
  quorum?: string;
  maxGuesses: string;
  keystore: string;
  pkcs11Module: string;
  pkcs11PinEnv: string;
  pkcs11Tokens?: string;
  listen?: string;
  peers?: string;
  store?: string;
}

function wholeNumber(flag: string, text: string): number {
  if (!/^\d+$/.test(text))
    throw new UsageError(`${flag} must be a whole number (got ${JSON.stringify(text)})`);
  return Number(text);
}

const list = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

function keystoreFrom(options: InitOptions, nodes: number): CeremonyKeystore {
  if (options.keystore === 'software') return { kind: 'software' };
  if (options.keystore !== 'pkcs11') {
    throw new UsageError(`--keystore must be software or pkcs11 (got ${JSON.stringify(options.keystore)})`);
  }
  const pin = process.env[options.pkcs11PinEnv];
  if (pin === undefined || pin === '') {
    throw new UsageError(`the token PIN is not set: set ${options.pkcs11PinEnv} (see --pkcs11-pin-env)`);
  }
  const tokenLabels = options.pkcs11Tokens
    ? list(options.pkcs11Tokens)
    : Array.from({ length: nodes }, (_, index) => `strongroom-node-${index}`);
  return { kind: 'pkcs11', module: options.pkcs11Module, tokenLabels, pin, pinEnv: options.pkcs11PinEnv };
}

/** One item per node, or a usage error naming the flag (checked before the ceremony writes anything). */
function perNode(flag: string, text: string, nodes: number): string[] {
  const items = list(text);
  if (items.length !== nodes) {
    throw new UsageError(`${flag} must list one entry per node (${nodes}), got ${items.length}`);
  }
  return items;
}

/**
 * The deployment fields of each node config (docs/OPERATIONS.md "Fleet init settings"): where each
 * node listens, the URL the others reach it at (default http://LISTEN), and the record store URL.
 */
function deploymentFrom(options: InitOptions, nodes: number) {
  const listens = options.listen === undefined ? undefined : perNode('--listen', options.listen, nodes);
  for (const listen of listens ?? [])
    parseListenAddress(listen, 'for example --listen 10.0.0.1:7000,10.0.0.2:7000');
  let urls = options.peers === undefined ? undefined : perNode('--peers', options.peers, nodes);
  for (const url of urls ?? []) {
    if (!/^https?:\/\/[^/?#]+$/.test(url)) {
      throw new UsageError(`--peers entry ${JSON.stringify(url)} is not a base URL (http://host:port)`);
    }
  }
  urls ??= listens?.map((listen) => `http://${listen}`);
  return (index: number) => ({
    ...(listens === undefined ? {} : { listen: listens[index] }),
    ...(urls === undefined
      ? {}
      : { peers: urls.map((url, peer) => ({ index: peer, url })).filter((peer) => peer.index !== index) }),
    ...(options.store === undefined ? {} : { recordStore: { url: options.store } }),
  });
}

async function runInit(options: InitOptions): Promise<void> {
  const nodes = wholeNumber('--nodes', options.nodes);
  const deployment = deploymentFrom(options, nodes);
  const keystore = keystoreFrom(options, nodes);
  const fleet = await createFleet({
    dir: options.out,
    nodes,
    regions: options.regions === undefined ? undefined : list(options.regions),
    quorum: options.quorum === undefined ? undefined : wholeNumber('--quorum', options.quorum),
    maxGuesses: wholeNumber('--max-guesses', options.maxGuesses),
    keystore,
  });
  for (const [index, path] of fleet.nodeConfigPaths.entries()) {
    const edited = NodeConfig.deserialize(readFileSync(path)).with(deployment(index));
    writeFileSync(path, edited.serialize());
  }
  const { config } = fleet;
  const lines = [
    `fleet ${Buffer.from(config.fleetId).toString('hex')} created in ${options.out}`,
    `  ${config.members.length} node${config.members.length === 1 ? '' : 's'}, quorum ${config.quorum}, ` +
      `largest guess limit ${config.maxGuessLimit}`,
    `  ${fleet.fleetPubPath}: public; ship it with your apps (clients pin it)`,
    ...config.members.map(
      (member) => `  ${fleet.nodeConfigPaths[member.index]!}: ${member.name} (${member.region})`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (keystore.kind === 'software') {
    process.stderr.write(
      'strongroom: WARNING: the nodes keep the fleet secrets in software keystore files (keystore.json), not an HSM:\n' +
        'strongroom: WARNING: anyone who can read one can bypass the guess limit. Use them only to try Strongroom.\n',
    );
  } else {
    process.stderr.write(`strongroom: hosts must set ${keystore.pinEnv} to the token PIN to start a node\n`);
  }
}

export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description('create and manage a vault fleet (HSM nodes)');
  fleet
    .command('init')
    .description(
      'key ceremony: make the fleet secrets, seal the fleet config, write node configs and fleet.pub',
    )
    .requiredOption('--nodes <n>', 'number of nodes')
    .requiredOption('--out <dir>', 'directory for fleet.pub and one node-N directory per node')
    .option('--regions <list>', 'comma-separated regions, assigned to nodes round-robin (default: local)')
    .option(
      '--quorum <q>',
      'endorsements a change needs (default: a majority; larger tolerates cloned nodes)',
    )
    .option('--max-guesses <n>', 'largest guess limit a record may choose', String(DEFAULT_MAX_GUESSES))
    .option('--keystore <kind>', 'software (files; NOT an HSM) or pkcs11', 'software')
    .option('--pkcs11-module <path>', 'PKCS#11 library', DEFAULT_PKCS11_MODULE)
    .option('--pkcs11-pin-env <var>', 'environment variable holding the token user PIN', DEFAULT_PIN_ENV)
    .option(
      '--pkcs11-tokens <labels>',
      'token labels, one per node or one shared (default: strongroom-node-N)',
    )
    .option('--listen <list>', 'host:port each node serves on, one per node (written to its node.json)')
    .option('--peers <urls>', 'base URL each node is reached at, one per node (default: http://LISTEN)')
    .option('--store <url>', 'record store every node uses: sqlite:PATH or etcd://host:port[,...][/prefix]')
    .action(runInit);
}
