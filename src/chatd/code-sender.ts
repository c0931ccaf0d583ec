// How join codes reach the user out of band (docs/CHATD.md "Join codes": a
// pluggable sender, as a phone number is re-verified on a new phone). Production plugs in SMS or
// e-mail; the development sender prints one `code USER CODE` line per code.
import type { Writable } from 'node:stream';
import { UnavailableError } from '../errors.ts';

export interface CodeSender {
  /** Delivers `code` to the owner of `userId`. A rejection makes the join request fail "unavailable". */
  send(userId: string, code: string): Promise<void>;
}

/**
 * Development sender (`strongroom server --dev-codes`): writes `code USER CODE` on `out` (stdout),
 * one line per code, so a person or a test script can read it. Never use it in production: anyone
 * who reads the server's output can join any account.
 */
export class DevCodeSender implements CodeSender {
  constructor(private readonly out: Writable = process.stdout) {}

  async send(userId: string, code: string): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.out.write(`code ${userId} ${code}\n`, (error) => (error ? reject(error) : resolve())),
    );
  }
}

/** Refuses every code: a ChatD started without a sender cannot let devices join. */
export const NO_CODE_SENDER: CodeSender = {
  async send() {
    throw new UnavailableError(
      'this server has no join-code sender (start it with --dev-codes to print codes)',
    );
  },
};
