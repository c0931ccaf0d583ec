// Keeps glibc from unmapping the memory that chunk-sized buffers live in (docs/BENCHMARKS.md
// "Backup stream"): every AES-GCM call allocates its output, and a chunk is 1 MiB.
//
// By default glibc serves allocations above 128 KiB with a fresh mmap and unmaps them on free, so
// each 1 MiB output costs 256 page faults and a zeroed page each: measured here, that tripled the
// CPU time of encrypting a GiB (1.4 s against 0.37 s). glibc raises this threshold by itself when a
// mapped block is freed (to that block's size, at most 32 MiB) and keeps up to twice the threshold
// of free memory before returning it (mallopt(3), M_MMAP_THRESHOLD "dynamic"). Freeing one block just
// under 32 MiB once therefore makes every later chunk come from, and go back to, memory that stays
// mapped. The setting is process-wide and one-way. Nothing happens where malloc is not glibc's.
//
// The block is allocated untouched (calloc of a fresh mapping costs no page) and freed by V8's
// next collection of array buffers, which chunk-sized allocations bring about within a few chunks.

const BLOCK = 31 * 2 ** 20;
let done = false;

/** Raises glibc's dynamic mmap threshold once per process (see above). */
export function raiseMallocThreshold(): void {
  if (done) return;
  done = true;
  // Dropped at once: only its free matters.
  void new ArrayBuffer(BLOCK);
}
