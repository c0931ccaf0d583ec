// Progress bars for long CLI operations (README "CLI"): bytes, rate and ETA on stderr, only when
// stderr is a terminal, so scripts and logs stay quiet. A bar never garbles other output: it is
// not drawn while the command writes its own output to the same terminal, it is erased when it
// stops, and a line printed while it runs (`note`) goes above it.
import cliProgress from 'cli-progress';
import { formatBytes } from '../client/format-bytes.ts';
import { onInterrupt } from '../temporaries.ts';
import { isInterrupted } from './interrupt.ts';

export interface Progress {
  /** Whether a bar is drawn (stderr is a terminal): work done only for the bar can be skipped. */
  readonly shown: boolean;
  /** `done` of `total` bytes so far (total 0 when unknown). */
  update(done: number, total: number): void;
  /** Writes `line` on the bar's stream above the bar (or just the line when there is no bar). */
  note(line: string): void;
  /** Erases the bar; it may start again with the next update. */
  stop(): void;
}

export interface ProgressOptions {
  readonly stream?: NodeJS.WriteStream;
  /**
   * The command writes its output to stdout while the bar would run (decrypt to stdout): no bar
   * when stdout is a terminal too, since the two would share one screen line.
   */
  readonly stdoutBusy?: boolean;
}

export function createProgress(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY || (options.stdoutBusy && process.stdout.isTTY)) {
    return { shown: false, update() {}, note: (line) => void stream.write(`${line}\n`), stop() {} };
  }
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label.padEnd(10)} [{bar}] {percentage}% | {doneBytes} / {totalBytes} | {rate}/s | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: true,
      // Erased on stop: cli-progress restores the cursor to where the bar started, so a bar left
      // standing would be written over by the next line (or would write over lines noted meanwhile).
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  let forget = () => {};
  let last = { done: 0, total: 0 };
  const payload = (done: number, total: number) => ({
    doneBytes: formatBytes(done),
    totalBytes: total > 0 ? formatBytes(total) : '?',
    rate: formatBytes(done / Math.max(0.001, (performance.now() - started) / 1000)),
  });
  const stop = () => {
    if (running) bar.stop(); // also shows the cursor again
    running = false;
    forget();
  };
  const update = (done: number, total: number) => {
    last = { done, total };
    // Once interrupted the bar is gone for good: the run goes on while it cleans up, and a bar
    // drawn again would stand after the notice, with the shell's prompt on its line.
    if (isInterrupted()) return;
    if (!running) {
      bar.start(Math.max(total, done, 1), done, payload(done, total));
      running = true;
      // A run interrupted by a signal exits without reaching its own stop().
      forget = onInterrupt(async () => stop());
    }
    bar.setTotal(Math.max(total, done, 1));
    bar.update(done, payload(done, total));
  };
  return {
    shown: true,
    update,
    note(line) {
      const wasRunning = running;
      stop();
      stream.write(`${line}\n`);
      if (wasRunning) update(last.done, last.total);
    },
    stop,
  };
}
