// Typed outcomes a caller acts on, and the CLI exit code of each (README "Exit codes").
// Messages say what failed and what it probably means; they quote public inputs, never secrets.

/** Exit codes shared by every CLI command. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  wrongPassword: 3,
  locked: 4,
  damaged: 5,
  wrongKey: 6,
  unavailable: 7,
  /**
   * The command did what it could but not all of it: `backup create` made a backup without some
   * entries it could not read (docs/BACKUP.md), or `fleet repair` read only some nodes (docs/PROTOCOL.md §9a).
   */
  incomplete: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class of every error Strongroom throws on purpose. `hints` are extra lines for a person. */
export class StrongroomError extends Error {
  readonly exitCode: ExitCode = ExitCode.failure;
  readonly hints: readonly string[];
  constructor(message: string, options?: { cause?: unknown; hints?: readonly string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hints = options?.hints ?? [];
  }
}

/** The command line or an argument was malformed (bad flag, malformed key text). */
export class UsageError extends StrongroomError {
  override readonly exitCode = ExitCode.usage;
}

/** The key does not match the backup (its key-check value differs): nothing was decrypted. */
export class WrongKeyError extends StrongroomError {
  override readonly exitCode = ExitCode.wrongKey;
}

/** The backup is damaged, truncated, reordered or forged; nothing unverified was written. */
export class DamagedBackupError extends StrongroomError {
  override readonly exitCode = ExitCode.damaged;
}

/**
 * The vault rejected the password; `guessesLeft` more wrong tries are allowed. At 0 that was the
 * last: the vault answers any further attempt, even the right password, by destroying the key
 * (docs/PROTOCOL.md section 9, step 4).
 */
export class WrongPasswordError extends StrongroomError {
  override readonly exitCode = ExitCode.wrongPassword;
  constructor(
    readonly guessesLeft: number,
    options?: { hints?: readonly string[] },
  ) {
    super(
      guessesLeft === 0
        ? 'wrong password, and it was the last guess allowed: the next attempt, even with the right password, makes the vault destroy the backup key'
        : `wrong password: ${guessesLeft} guess${guessesLeft === 1 ? '' : 'es'} left before the backup key is destroyed`,
      options,
    );
  }
}

/** The vault record is locked: its guesses ran out (or it was locked) and the key is destroyed. */
export class LockedError extends StrongroomError {
  override readonly exitCode = ExitCode.locked;
}

/** The vault has no record under this id (never enabled, deleted, or hidden by the operator). */
export class NoRecordError extends StrongroomError {}

/** A service (vault quorum, ChatD, blob store) could not be reached or could not certify an answer. */
export class UnavailableError extends StrongroomError {
  override readonly exitCode = ExitCode.unavailable;
}

/**
 * `fleet repair` wrote what the marks it read prove, but read fewer than every node, and some
 * records may be behind their latest certified state (docs/PROTOCOL.md §9a): they may answer
 * "unavailable" until a repair reads every node's marks.
 */
export class RepairIncompleteError extends StrongroomError {
  override readonly exitCode = ExitCode.incomplete;
}

/**
 * The vault or a relay showed something only tampering explains: an older version than this device
 * has seen, another incarnation without a change proof, a swapped fleet key, a response that does
 * not open. The caller should warn its user rather than re-register silently.
 */
export class TamperingError extends StrongroomError {}

/** The message of anything thrown (an Error's message, or the value as text), for logs and errors. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
