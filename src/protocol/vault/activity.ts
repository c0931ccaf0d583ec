// The vault host's activity hint to ChatD (docs/PROTOCOL.md §9d): what the host's handling of one
// relayed request did to the record, sent in clear beside the sealed response frame. ChatD cannot
// read sealed answers, so this is how it learns that a guess was spent; it comes from the
// operator's own side, is never proof of anything, and ChatD uses it only for announcements.
//
// Over HTTP it is one response header: `strongroom-guesses-spent: N` (decimal, 0..255). A
// missing or malformed header reads as "nothing known".

/** The HTTP response header that carries the hint. */
export const GUESSES_SPENT_HEADER = 'strongroom-guesses-spent';

/** Largest count a hint may carry: one request never completes more spends than a record has guesses. */
const MAX_GUESSES_SPENT = 255;

export interface VaultActivity {
  /** Spends the host certified and committed while handling the request (its own, or one it completed). */
  readonly guessesSpent: number;
}

/** The header value for `activity`. */
export function formatGuessesSpent(activity: VaultActivity): string {
  return String(activity.guessesSpent);
}

/** The hint in a header value, or undefined when it is missing or malformed (advisory: never an error). */
export function parseGuessesSpent(value: string | string[] | undefined): VaultActivity | undefined {
  if (typeof value !== 'string' || !/^[0-9]{1,3}$/.test(value)) return undefined;
  const guessesSpent = Number(value);
  return guessesSpent <= MAX_GUESSES_SPENT ? { guessesSpent } : undefined;
}
