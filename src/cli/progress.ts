// Progress bars for long CLI operations (README "CLI"): bytes, rate and ETA on stderr, only when
// stderr is a terminal, so scripts and logs stay quiet.
import cliProgress from 'cli-progress';
import { formatBytes } from '../client/format-bytes.ts';
import { onInterrupt } from '../temporaries.ts';

export interface Progress {
  /** `done` of `total` bytes so far (total 0 when unknown). */
  update(done: number, total: number): void;
  stop(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label.padEnd(10)} [{bar}] {percentage}% | {doneBytes} / {totalBytes} | {rate}/s | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  let forget = () => {};
  const stop = () => {
    if (running) bar.stop(); // also shows the cursor again
    running = false;
    forget();
  };
  return {
    update(done, total) {
      const payload = {
        doneBytes: formatBytes(done),
        totalBytes: total > 0 ? formatBytes(total) : '?',
        rate: formatBytes(done / Math.max(0.001, (performance.now() - started) / 1000)),
      };
      if (!running) {
        bar.start(Math.max(total, 1), done, payload);
        running = true;
        // A run interrupted by a signal exits without reaching its own stop().
        forget = onInterrupt(async () => stop());
      }
      bar.setTotal(Math.max(total, done, 1));
      bar.update(done, payload);
    },
    stop,
  };
}
