// `strongroom server --data DIR [--listen HOST:PORT] [--lock-grace SECONDS] [--dev-codes]`
// (docs/CHATD.md "Running it"): ChatD,
// the 3-node vault fleet and blob storage in one process, all state under DIR. Prints one line
// `listening on URL` on stdout when ready (and, with --dev-codes, one `code USER CODE` line per join
// code); logs go to stderr. Stops cleanly on SIGINT or SIGTERM.
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors.ts';
import { parseListenAddress } from '../../listen-address.ts';
import { serverLogger } from '../../observability/log.ts';
import { DEFAULT_LOCK_GRACE_MS } from '../../vault-host/coordinator.ts';

interface ServerOptions {
  data: string;
  listen: string;
  lockGrace: string;
  devCodes?: boolean;
}

/** `--lock-grace`: whole seconds, at most an hour (docs/PROTOCOL.md §9 "Locking exhausted records"). */
function lockGraceMs(text: string): number {
  if (!/^\d{1,4}$/.test(text) || Number(text) > 3600)
    throw new UsageError(`--lock-grace takes whole seconds from 0 to 3600, got ${JSON.stringify(text)}`);
  return Number(text) * 1000;
}

async function runServer(options: ServerOptions): Promise<void> {
  const graceMs = lockGraceMs(options.lockGrace);
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
    lockGraceMs: graceMs,
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
    .addOption(
      new Option(
        '--lock-grace <seconds>',
        'how long a record out of guesses stays before the vault locks it (its last login may still finish)',
      )
        .env('STRONGROOM_LOCK_GRACE')
        .default(String(DEFAULT_LOCK_GRACE_MS / 1000)),
    )
    .option('--dev-codes', 'print join codes on stdout as `code USER CODE` (development only)')
    .action(runServer);
}
