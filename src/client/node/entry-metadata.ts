// Restores an archive entry's metadata and sparse content on disk (docs/FORMAT.md §6 "Archive",
// "Restoring"): times to the microsecond, before 1970 too; owners when running as root; long
// zero runs as holes.
import { chmod, chown, lchown, lutimes, open, utimes } from 'node:fs/promises';

const NS_PER_S = 1_000_000_000n;

/**
 * The `atime`/`mtime` argument that makes Node set exactly the microsecond of `ns`.
 *
 * Node turns a time into a double of seconds, which libuv splits back into a timespec by truncating
 * toward zero and then dropping the nanoseconds below the microsecond (uv__fs_to_timespec), so the
 * microsecond is the finest a Node program can set. A double near 1.7e9 s is only good to about
 * 0.24 µs, so aiming at the microsecond's edge lands a microsecond early about half the time; this
 * aims half a microsecond inside it instead (on the side truncation moves from: below for negative
 * times). Node replaces a negative *number* by the current time, but passes a numeric *string* on
 * as it is, hence the string.
 */
export function utimesArgument(ns: bigint): string {
  let seconds = ns / NS_PER_S;
  let below = ns % NS_PER_S;
  if (below < 0n) {
    below += NS_PER_S;
    seconds -= 1n;
  }
  const micros = Number(below / 1000n);
  if (micros === 0 && ns < 0n) return String(Number(seconds));
  const nudge = ns < 0n ? -500 : 500;
  return String(Number(seconds) + (micros * 1000 + nudge) / 1e9);
}

/** Whether restored entries get the archive's uid and gid: only root may give files away (like tar). */
export const restoresOwners = (): boolean => process.getuid?.() === 0;

interface Metadata {
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Sets a file's or directory's owner, mode and times, in that order: chown clears the set-id bits,
 * so chmod comes after it, and both change ctime only.
 */
export async function applyMetadata(path: Buffer, entry: Metadata): Promise<void> {
  if (entry.uid !== undefined && entry.gid !== undefined && restoresOwners()) {
    await chown(path, entry.uid, entry.gid);
  }
  await chmod(path, entry.mode);
  const time = utimesArgument(entry.mtimeNs);
  await utimes(path, time, time);
}

/** A symlink's owner and times (Linux has no lchmod, so its mode stays 0777). */
export async function applySymlinkMetadata(path: Buffer, entry: Metadata): Promise<void> {
  if (entry.uid !== undefined && entry.gid !== undefined && restoresOwners()) {
    await lchown(path, entry.uid, entry.gid);
  }
  const time = utimesArgument(entry.mtimeNs);
  await lutimes(path, time, time);
}

/** Holes are made of whole blocks of this size, aligned on it in the file. */
export const HOLE_BLOCK = 4096;
const ZERO_BLOCK = Buffer.alloc(HOLE_BLOCK);
/** Data is gathered into writes of up to this many bytes. */
const RUN_BYTES = 1 << 20;

/**
 * Creates `path` (which must not exist) with mode 0600 and writes `content` (`size` bytes) into it,
 * leaving every aligned all-zero block of HOLE_BLOCK bytes as a hole: it seeks past it rather than
 * write it, and sets the length at the end. The bytes read back are the same; the file only takes
 * less space. Content arrives in pieces of any size and alignment, so it is gathered block by block
 * into runs of data, each written at its offset. Returns the bytes of content.
 */
export async function writeSparseFile(
  path: Buffer,
  content: AsyncIterable<Uint8Array>,
  size: number,
): Promise<number> {
  const handle = await open(path, 'wx', 0o600);
  // Two run buffers: one is written while the other fills, so the write overlaps the decryption.
  // A small file gets small ones: a restore of many small files would otherwise allocate 2 MiB
  // per file, and that churn of memory outside V8's heap set off a full collection every few
  // files (docs/BENCHMARKS.md, "Incremental backups"). Content longer than `size` still fits in
  // runs of this length; it is refused at the end.
  const runBytes = Math.min(RUN_BYTES, Math.max(HOLE_BLOCK, Math.ceil(size / HOLE_BLOCK) * HOLE_BLOCK));
  const runs = [Buffer.allocUnsafe(runBytes), Buffer.allocUnsafe(runBytes)];
  let pending: Promise<unknown> = Promise.resolve();
  try {
    let run = runs[0]!;
    let runLength = 0;
    let runStart = 0; // always a multiple of HOLE_BLOCK
    let offset = 0;
    const flush = async () => {
      await pending;
      if (runLength > 0) {
        pending = handle.write(run, 0, runLength, runStart);
        // Handled when awaited; until then a rejection must not count as unhandled.
        pending.catch(() => {});
        run = run === runs[0] ? runs[1]! : runs[0]!;
      }
      runStart = offset;
      runLength = 0;
    };
    for await (const piece of content) {
      for (let i = 0; i < piece.length; ) {
        const take = Math.min(piece.length - i, HOLE_BLOCK - (offset % HOLE_BLOCK));
        run.set(piece.subarray(i, i + take), runLength);
        runLength += take;
        offset += take;
        i += take;
        if (offset % HOLE_BLOCK !== 0) continue;
        // A whole block just ended the run: drop it if it is zeros, so it stays a hole.
        if (run.subarray(runLength - HOLE_BLOCK, runLength).equals(ZERO_BLOCK)) {
          runLength -= HOLE_BLOCK;
          await flush();
        } else if (runLength === runBytes) {
          await flush();
        }
      }
    }
    await flush();
    await pending;
    if (offset !== size) throw new Error(`wrote ${offset} bytes of ${size}`);
    await handle.truncate(size);
    return offset;
  } finally {
    await pending.catch(() => {});
    await handle.close();
  }
}
