// `strongroom web [--listen HOST:PORT] [--root DIR]` (docs/WEB.md "Hosting it"): serves the backup opener page
// alone until SIGINT or SIGTERM, and prints `listening on URL` on stdout.
import type { Command } from 'commander';
import { parseListenAddress } from '../../listen-address.ts';
import { serveWeb } from '../../web/serve.ts';

const DEFAULT_LISTEN = '127.0.0.1:8080';

export function registerWeb(program: Command): void {
  program
    .command('web')
    .description('serve the web page that opens a backup in the browser (nothing leaves the browser)')
    .option('--listen <host:port>', 'address to serve on', DEFAULT_LISTEN)
    .option('--root <dir>', "serve the page built in DIR (default: the package's dist/web)")
    .action(async (options: { listen: string; root?: string }) => {
      const server = await serveWeb({
        ...parseListenAddress(
          options.listen,
          `e.g. --listen ${DEFAULT_LISTEN}, or 0.0.0.0:8080 to serve other machines (over a TLS proxy)`,
        ),
        root: options.root,
      });
      process.stdout.write(`listening on ${server.url}\n`);
      await new Promise<void>((stop) => {
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });
}
