// Runs the real CLI on a real pseudo-terminal, so that what needs a terminal is tested as a person
// meets it. With `script` (bsdutils): a conversation (a password prompt without echo, a
// confirmation) — wait for a prompt, type a line, read back every byte the terminal showed,
// echo included. With tmux: the final screen as drawn (progress bars and the lines around them).
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A step of the conversation: wait until `prompt` is on the screen, then type `line` and Enter. */
export interface TerminalStep {
  readonly prompt: RegExp;
  readonly line: string;
}

export interface TerminalResult {
  readonly code: number;
  /** What the terminal showed (stdout, stderr and echo, as the pty merges them), with \n line ends. */
  readonly screen: string;
}

const shellQuote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

export function runCliInTerminal(
  args: readonly string[],
  steps: readonly TerminalStep[],
  options: { env?: Record<string, string | undefined> } = {},
): Promise<TerminalResult> {
  const command = [process.execPath, '--import', 'tsx', mainTs, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    env: { ...process.env, STRONGROOM_KEY: undefined, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  let seen = 0;
  let next = 0;
  // Types each line only once its prompt is on the screen: typed earlier, a terminal still in
  // echo mode would show it, as it would for a person who types ahead.
  const advance = () => {
    while (next < steps.length) {
      const step = steps[next]!;
      const match = step.prompt.exec(screen.slice(seen));
      if (!match) return;
      seen += match.index + match[0].length;
      next++;
      child.stdin.write(`${step.line}\r`);
    }
  };
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString('utf8').replaceAll('\r\n', '\n');
    advance();
  });
  child.stderr.on('data', (d: Buffer) => {
    screen += d.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.destroy();
      if (next < steps.length) {
        reject(new Error(`the command ended before prompt ${steps[next]!.prompt}; screen:\n${screen}`));
      } else resolve({ code: code ?? -1, screen });
    });
  });
}

/**
 * Runs the CLI in a detached tmux window of `columns` x `rows` and returns the screen a person
 * would see once it has exited (tmux's capture-pane): what is drawn over, erased or moved by
 * escape sequences shows as it does in a real terminal. Each call has its own tmux server.
 */
export async function screenAfterCli(
  args: readonly string[],
  options: { env?: Record<string, string>; columns?: number; rows?: number; timeoutMs?: number } = {},
): Promise<{ code: number; screen: string }> {
  const socket = `strongroom-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tmux = (...tmuxArgs: string[]) => execFileAsync('tmux', ['-L', socket, ...tmuxArgs]);
  const exports = Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${shellQuote(value)}`);
  const command = [process.execPath, '--import', 'tsx', mainTs, ...args].map(shellQuote).join(' ');
  // The window stays open after the command so that its last screen can be read.
  const script = `${['env', ...exports].join(' ')} ${command}; echo "[exit $?]"; sleep 3600`;
  await tmux('new-session', '-d', '-x', `${options.columns ?? 160}`, '-y', `${options.rows ?? 50}`, script);
  try {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    for (;;) {
      const screen = (await tmux('capture-pane', '-p')).stdout;
      const exit = /^\[exit (\d+)\]$/m.exec(screen);
      if (exit) return { code: Number(exit[1]), screen: screen.slice(0, exit.index) };
      if (Date.now() > deadline) throw new Error(`the command did not finish; screen:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await tmux('kill-server').catch(() => {});
  }
}

/**
 * The last progress bar labelled `label` drawn on `screen` (src/cli/progress.ts's format), as its
 * percentage, done and total; throws when none was drawn.
 */
export function lastProgressBar(
  screen: string,
  label: string,
): { percent: string; done: string; total: string } {
  const bars = [
    ...screen.matchAll(
      new RegExp(`${label} +\\[[█░]+\\] (\\d+)% \\| ([\\d.]+ \\S+) / ([\\d.]+ \\S+) \\|`, 'g'),
    ),
  ];
  const last = bars.at(-1);
  if (last === undefined) throw new Error(`no ${label} progress bar was drawn; screen:\n${screen}`);
  return { percent: last[1]!, done: last[2]!, total: last[3]! };
}
