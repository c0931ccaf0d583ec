// `strongroom chatd --config FILE [--account-store etcd://…] [--blob-store s3://…] [--dev-codes]`
// (docs/CHATD.md "Running ChatD alone", "ChatD across regions"): ChatD without a vault, relaying
// to the fleet's `vault node` processes — its own region's nodes first, then the others
// (src/chatd/vault-relay.ts); with the two store flags (or the config's accountStore and
// blobStore) it is one of a multi-region deployment's ChatDs. Prints one line `listening on URL` on
// stdout when ready (and, with --dev-codes, one `code USER CODE` line per join code); logs go to
// stderr as JSON lines. Stops cleanly on SIGINT or SIGTERM.
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { messageOf, UsageError } from '../../errors.ts';
import { parseListenAddress } from '../../listen-address.ts';
import { serverLogger } from '../../observability/log.ts';

interface ChatdCommandOptions {
  config: string;
  listen?: string;
  accountStore?: string;
  blobStore?: string;
  s3Endpoint?: string;
  devCodes?: boolean;
}

/** A shared-store flag checked as its config field is; a bad one is a usage error naming the flag. */
function storeFlag(flag: string, value: string | undefined, problem: (url: string) => string | undefined) {
  if (value === undefined) return undefined;
  const why = problem(value);
  if (why !== undefined) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} ${why}`, {
      hints: ['docs/CHATD.md "ChatD across regions" describes a multi-region deployment'],
    });
  }
  return value;
}

/** Reads `path` with `parse`, turning any failure into a usage error that names the file. */
function readConfigFile<T>(what: string, path: string, parse: (text: string) => T): T {
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const detail = messageOf(error);
    throw new UsageError(`cannot read ${what} ${JSON.stringify(path)}: ${detail}`, {
      cause: error,
      hints: ['docs/CHATD.md "Running ChatD alone" describes the file'],
    });
  }
}

async function runChatd(options: ChatdCommandOptions): Promise<void> {
  // Loaded here, not at the top: every other command would otherwise load ChatD.
  const { ChatdConfig, accountStoreUrlProblem, blobStoreUrlProblem } = await import('../../chatd/config.ts');
  const { FleetPublicInfo } = await import('../../protocol/fleet.ts');
  // Checked before the config is read: a mistyped flag is named as the flag.
  const accountStoreFlag = storeFlag('--account-store', options.accountStore, accountStoreUrlProblem);
  const blobStoreFlag = storeFlag('--blob-store', options.blobStore, blobStoreUrlProblem);
  const config = readConfigFile('ChatD config', options.config, (text) => ChatdConfig.fromText(text));
  const accountStore = accountStoreFlag ?? config.accountStore;
  const blobStore = blobStoreFlag ?? config.blobStore;
  const { host, port } = parseListenAddress(
    options.listen ?? config.listen,
    `pass --listen host:port or set "listen" in ${options.config}, e.g. "127.0.0.1:8470"`,
  );
  const fleetPubPath = ChatdConfig.resolve(options.config, config.fleetPub);
  const fleet = readConfigFile('fleet.pub', fleetPubPath, (text) => FleetPublicInfo.fromText(text));
  let vaultNodes: ReturnType<typeof config.vaultNodes>;
  try {
    vaultNodes = config.vaultNodes(fleet);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }

  // Handlers first: a supervisor may signal as soon as it reads the `listening on` line.
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const { ChatdServer } = await import('../../chatd/server.ts');
  const { DevCodeSender, NO_CODE_SENDER } = await import('../../chatd/code-sender.ts');
  const { loadWebPage } = await import('../../server/web-page.ts');
  const logger = serverLogger('chatd');
  if (!vaultNodes.some((node) => node.region === config.region)) {
    logger.warn(
      { region: config.region },
      'no vault node in this ChatD region: every vault frame goes to another region',
    );
  }
  const shared = await import('../../chatd/shared-state.ts');
  const server = await ChatdServer.start({
    dataDir: ChatdConfig.resolve(options.config, config.dataDir),
    accountStore: accountStore === undefined ? undefined : shared.openAccountStore(accountStore),
    blobStores:
      blobStore === undefined
        ? undefined
        : await shared.openAccountBlobStores(blobStore, options.s3Endpoint ?? process.env.AWS_ENDPOINT_URL),
    host,
    port,
    vaultNodes,
    fleetIds: [fleet.fleetId],
    localRegion: config.region,
    relayTimeoutMs: config.relayTimeoutMs,
    quotaBytes: config.quotaBytes,
    metrics: config.metrics,
    codeSender: options.devCodes ? new DevCodeSender(process.stdout) : NO_CODE_SENDER,
    logger,
    page: loadWebPage(logger),
  });
  logger.info(
    { region: config.region, nodes: vaultNodes.map((node) => `${node.name} (${node.region})`) },
    'chatd relaying to the fleet',
  );
  process.stdout.write(`listening on ${server.url}\n`);
  const signal = await stopRequested;
  logger.info({ signal }, 'stopping');
  await server.close();
}

export function registerChatd(program: Command): void {
  program
    .command('chatd')
    .description("run ChatD alone, relaying to the fleet's vault nodes (own region first)")
    // Settings: flag > environment variable > config file (docs/OPERATIONS.md "Settings").
    .addOption(
      new Option('--config <file>', 'ChatD config (docs/CHATD.md "Running ChatD alone")')
        .env('STRONGROOM_CHATD_CONFIG')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--listen <host:port>', 'address to serve on (default: the config\'s "listen")').env(
        'STRONGROOM_LISTEN',
      ),
    )
    .option(
      '--account-store <etcd://host:port,...[/prefix]>',
      'accounts shared by every ChatD of a deployment (default: the config\'s "accountStore", else the data dir)',
    )
    .option(
      '--blob-store <s3://bucket/prefix>',
      'blobs shared by every ChatD of a deployment (default: the config\'s "blobStore", else the data dir)',
    )
    .option('--s3-endpoint <url>', 'S3 endpoint for an s3:// blob store (else AWS_ENDPOINT_URL)')
    .option('--dev-codes', 'print join codes on stdout as `code USER CODE` (development only)')
    .action(runChatd);
}
