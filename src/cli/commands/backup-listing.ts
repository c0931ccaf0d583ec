// What `backup create` and `backup list` print about snapshots and the single-stream backups made
// before repositories (README "The CLI"; docs/BACKUP.md "Listing"), the same with a key and store as
// with `--device`: one line each, oldest first, or `--json` with sizes in bytes.
import { formatBytes } from '../../client/format-bytes.ts';
import type { CreatedSnapshot } from '../../client/node/repository-backup.ts';
import type { SnapshotInfo } from '../../client/repository/repository.ts';
import { reportProblems } from './backup-problems.ts';

/** Prints `value` as JSON on stdout: sizes are numbers of bytes (README "The CLI"). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A single-stream backup as a list shows it: its stored (encrypted) size. */
export interface StreamListing {
  readonly id: string;
  readonly created: Date;
  readonly size: number;
  /** Where it is, when a list covers more than one store (ChatD's list of an account's backups). */
  readonly location?: string;
}

const utcText = (iso: string) => iso.replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');

/** A snapshot as `--json` gives it: sizes in bytes, `added` the bytes its run uploaded. */
export function snapshotJson(snapshot: SnapshotInfo, location: string) {
  const { id, time, files, size, added, paths } = snapshot;
  return { kind: 'snapshot', id, created: time, files, size, added, paths, location };
}

/**
 * What `backup create` prints of a new snapshot, with a key and store as with `--device`: what it
 * left out by design, its id (or `--json`), a summary line saying how much had to be read and
 * uploaded, and what it could not back up, which makes the outcome incomplete (exit 8, docs/BACKUP.md
 * "Incomplete backups").
 */
export function reportCreatedSnapshot(snapshot: CreatedSnapshot, location: string, json: boolean): void {
  for (const { path, reason } of snapshot.skipped)
    process.stderr.write(`strongroom: warning: skipped '${path}' (${reason})\n`);
  if (json) printJson(snapshotJson(snapshot, location));
  else process.stdout.write(`${snapshot.id}\n`);
  const files = `${snapshot.files} file${snapshot.files === 1 ? '' : 's'} (${snapshot.filesRead} read)`;
  process.stderr.write(
    `snapshot ${snapshot.id}: ${files}, ${formatBytes(snapshot.size)}, ${formatBytes(snapshot.added)} uploaded to ${location}\n`,
  );
  reportProblems(snapshot);
}

/** Prints snapshots and single-stream backups together, oldest first (`nothing` when there are none). */
export function printBackupList(
  snapshots: readonly SnapshotInfo[],
  streams: readonly StreamListing[],
  options: { location: string; json?: boolean; nothing: string },
): void {
  type Row =
    | { kind: 'snapshot'; created: string; snapshot: SnapshotInfo }
    | { kind: 'stream'; created: string; stream: StreamListing };
  const rows: Row[] = [
    ...snapshots.map((snapshot) => ({ kind: 'snapshot' as const, created: snapshot.time, snapshot })),
    ...streams.map((stream) => ({ kind: 'stream' as const, created: stream.created.toISOString(), stream })),
  ].sort((a, b) => a.created.localeCompare(b.created));
  if (options.json) {
    printJson(
      rows.map((row) =>
        row.kind === 'snapshot'
          ? snapshotJson(row.snapshot, options.location)
          : {
              kind: 'stream',
              id: row.stream.id,
              created: row.created,
              size: row.stream.size,
              location: row.stream.location ?? options.location,
            },
      ),
    );
    return;
  }
  if (rows.length === 0) process.stderr.write(`${options.nothing}\n`);
  for (const row of rows) {
    const when = utcText(row.created);
    if (row.kind === 'snapshot') {
      const s = row.snapshot;
      process.stdout.write(
        `${s.id}  ${when}  ${String(s.files).padStart(7)} ${s.files === 1 ? 'file ' : 'files'}  ${formatBytes(s.size).padStart(10)}  +${formatBytes(s.added)}\n`,
      );
    } else {
      // Made by `backup create` before repositories: one encrypted stream, shown with its stored size.
      const where = row.stream.location === undefined ? '' : `  ${row.stream.location}`;
      process.stdout.write(
        `${row.stream.id}  ${when}  single-stream backup  ${formatBytes(row.stream.size).padStart(10)}${where}\n`,
      );
    }
  }
}
