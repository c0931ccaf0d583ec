// One process run under GNU time, for the benches that compare Strongroom's CLI with restic's as
// users run them: wall time, stdout, and the peak resident set size (`%M`) of the whole process.
import { spawn } from 'node:child_process';

export interface TimedRun {
  readonly seconds: number;
  readonly stdout: string;
  readonly peakRssMiB: number;
}

/** Runs `command` under /usr/bin/time; rejects when it fails or GNU time reports no peak RSS. */
export function runUnderTime(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'peak-rss-kib=%M', command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const kib = /peak-rss-kib=(\d+)\s*$/.exec(stderr)?.[1];
      if (code !== 0 || kib === undefined) {
        reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`));
      } else {
        resolve({ seconds: (performance.now() - started) / 1000, stdout, peakRssMiB: Number(kib) / 1024 });
      }
    });
  });
}
