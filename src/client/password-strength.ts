// The strength a new backup password must have (docs/SECURITY.md "Password strength"): zxcvbn-ts
// estimates how many guesses a search would need, and a password below STRONG_ENOUGH_SCORE is
// refused before it reaches the vault. Browser-safe; the dictionaries (a few MiB) load on first use.
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { UsageError } from '../errors.ts';

/**
 * zxcvbn's score 3: an estimated 10^8 guesses or more. The vault's guess limit stops an online
 * search long before that, but after a fleet-secret compromise the search is offline at one
 * Argon2id (64 MiB, 3 passes) per guess, and scores 0-2 (under 10^8) fall in minutes to hours
 * there (docs/SECURITY.md "Password strength" has the figures).
 */
export const STRONG_ENOUGH_SCORE = 3;

/** A new password that a password search would find quickly; nothing was changed. */
export class WeakPasswordError extends UsageError {}

let estimator: Promise<ZxcvbnFactory> | undefined;

/** One estimator per process: building its dictionaries takes about a second. */
function loadEstimator(): Promise<ZxcvbnFactory> {
  estimator ??= (async () => {
    const [{ ZxcvbnFactory }, common, en] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-en'),
    ]);
    return new ZxcvbnFactory({
      translations: en.translations,
      graphs: common.adjacencyGraphs,
      dictionary: { ...common.dictionary, ...en.dictionary },
      useLevenshteinDistance: true,
    });
  })();
  return estimator;
}

/**
 * Throws WeakPasswordError when `password` scores under STRONG_ENOUGH_SCORE. `context` are words an
 * attacker would try first (the user id, the server); the message never quotes the password.
 */
export async function checkPasswordStrength(
  password: string,
  context: readonly string[] = [],
): Promise<void> {
  if (password.length === 0) throw new UsageError('the password is empty');
  const result = (await loadEstimator()).check(password, ['strongroom', 'backup', ...context]);
  if (result.score >= STRONG_ENOUGH_SCORE) return;
  const warning = result.feedback.warning?.replace(/\.$/, '');
  const reason = warning
    ? warning.charAt(0).toLowerCase() + warning.slice(1)
    : `a search would find it in about 10^${Math.floor(result.guessesLog10)} guesses`;
  throw new WeakPasswordError(`the password is too easy to guess: ${reason}`, {
    hints: [
      ...result.feedback.suggestions,
      'three or four unrelated words, or a long sentence of your own, are strong and easy to type',
    ],
  });
}
