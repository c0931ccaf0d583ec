// How the CLI reads a backup password (README "CLI"): on a terminal, a prompt that does not echo
// (asked twice when setting one); from stdin with --password-stdin, for scripts. Without a terminal
// and without --password-stdin there is nobody to ask, and the command says so.
import { createInterface } from 'node:readline';
import { StrongroomError, UsageError } from '../errors.ts';

/** One line from stdin: after a prompt on stderr when stdin is a terminal. */
export async function readLine(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  if (process.stdin.isTTY) process.stderr.write(prompt);
  try {
    for await (const line of rl) return line;
    throw new UsageError('stdin ended before a line was read');
  } finally {
    rl.close();
  }
}

export interface PasswordSource {
  /** --password-stdin: read one line from stdin when it is not a terminal. */
  readonly passwordStdin?: boolean;
}

/**
 * Reads a line from the terminal on stdin without echoing it: raw mode, so the terminal shows
 * nothing; backspace and Ctrl-U edit, Enter ends, Ctrl-C interrupts as it would anywhere else.
 */
function readHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  // Echo goes off before the prompt shows: whatever is typed once it is visible stays hidden.
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') {
          finish(new StrongroomError('interrupted at the password prompt: nothing was changed'));
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (char === '\u0004' && text === '') return finish(new UsageError('no password given (Ctrl-D)'));
        if (char === '\u007f' || char === '\b') text = Array.from(text).slice(0, -1).join('');
        else if (char === '\u0015') text = '';
        else if (char >= ' ') text += char;
      }
    };
    input.on('data', onData);
  });
}

async function readOnce(source: PasswordSource, prompt: string): Promise<string> {
  let password: string;
  if (process.stdin.isTTY) password = await readHidden(prompt);
  else if (source.passwordStdin) password = await readLine(prompt);
  else {
    throw new UsageError('no terminal to ask for the password on', {
      hints: ['pass --password-stdin and write the password to stdin (one line)'],
    });
  }
  if (password.length === 0) throw new UsageError('the password is empty');
  return password;
}

/** The password of an existing record (restore): asked once. */
export function readPassword(source: PasswordSource): Promise<string> {
  return readOnce(source, 'backup password: ');
}

/**
 * A new password (enable, change): `check` refuses a weak one before it is asked again; on a
 * terminal it is typed twice and must match, since a typo here would lock the user out.
 */
export async function readNewPassword(
  source: PasswordSource,
  check: (password: string) => Promise<void>,
): Promise<string> {
  const password = await readOnce(source, 'new backup password: ');
  await check(password);
  if (process.stdin.isTTY && (await readHidden('repeat it: ')) !== password) {
    throw new UsageError('the two passwords differ: nothing was changed');
  }
  return password;
}
