// Runs the real CLI on a real pseudo-terminal (util-linux `script`), so that what needs a terminal
// (a password prompt without echo, a confirmation) is tested as a person meets it: the test waits
// for a prompt on the screen, types a line, and reads back everything the terminal showed,
// including anything the terminal echoed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
