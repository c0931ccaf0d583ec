// `strongroom server --data DIR [--listen HOST:PORT] [--dev-codes]` (docs/CHATD.md "Running it"): ChatD,
// the 3-node vault fleet and blob storage in one process, all state under DIR. Prints one line
// `listening on URL` on stdout when ready (and, with --dev-codes, one `code USER CODE` line per join
// code); logs go to stderr. Stops cleanly on SIGINT or SIGTERM.
import { type Command, Option } from 'commander';
import { parseListenAddress } from '../../listen-address.ts';
import { serverLogger } from '../../observability/log.ts';

interface ServerOptions {
  data: string;
  listen: string;
  devCodes?: boolean;
}

async function runServer(options: ServerOptions): Promise<void> {
  const { host, port } = parseListenAddress(
    options.listen,
    'for example 127.0.0.1:8470, or 127.0.0.1:0 for any free port',
  );
  // Handlers first: a supervisor may signal as soon as it reads the `listening on` line.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  // Loaded here, not at the top: every other command would otherwise load the whole server.
  const { EmbeddedServer } = await import('../../server/embedded.ts');
  const { DevCodeSender } = await import('../../chatd/code-sender.ts');
  const logger = serverLogger('server');
  const server = await EmbeddedServer.start({
    dataDir: options.data,
    host,
    port,
    logger,
    codeSender: options.devCodes ? new DevCodeSender(process.stdout) : undefined,
  });
  logger.warn(
    'embedded server: software keystores and a 3-node fleet in one process — for trying Strongroom, not an HSM deployment',
  );
  process.stdout.write(`listening on ${server.url}\n`);
  await stopRequested;
  await server.close();
  logger.info('stopped');
}

export function registerServer(program: Command): void {
  program
    .command('server')
    .description('run ChatD, a 3-node vault fleet and blob storage on the embedded default')
    // Settings: flag > environment variable > default (docs/OPERATIONS.md "Settings").
    .addOption(
      new Option('--data <dir>', 'all server state (made on first start, reused after)')
        .env('STRONGROOM_DATA')
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--listen <host:port>', 'address for ChatD')
        .env('STRONGROOM_LISTEN')
        .default('127.0.0.1:8470'),
    )
    .option('--dev-codes', 'print join codes on stdout as `code USER CODE` (development only)')
    .action(runServer);
}
