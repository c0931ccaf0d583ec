// What a SIGINT (Ctrl-C) or SIGTERM does to a command that writes unverified plaintext or
// unfinished blobs — decrypt -o, backup create, backup restore (docs/BACKUP.md "Interrupted runs"):
// it removes them, aborts an S3 multipart upload under way, and exits 128 + the signal's number
// (130, 143) as a shell's own commands do. Servers handle these signals themselves (a clean stop).
import { cleanUpOnInterrupt } from '../temporaries.ts';

/** How long an interrupted run may take to abort its S3 multipart upload before it exits anyway. */
const GRACE_MS = 10_000;

let installed = false;
let interrupted = false;

/** True once a signal arrived: the run's own failure since is the interruption's doing. */
export function isInterrupted(): boolean {
  return interrupted;
}

/** Makes SIGINT and SIGTERM clean up and exit (see the module comment); a second one hurries it. */
export function removeUnfinishedOnInterrupt(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      const hurry = interrupted;
      interrupted = true;
      // Started first: its synchronous part stops the progress bar before the line below.
      const cleaning = cleanUpOnInterrupt(hurry ? 0 : GRACE_MS);
      if (!hurry) process.stderr.write(`\nstrongroom: interrupted (${signal}); removing unfinished files\n`);
      void cleaning.finally(() => process.exit(code));
    });
  }
}
