// How far V8 lets the JavaScript heap grow past what the last full collection kept
// (docs/ARCHITECTURE.md "Memory"). A snapshot of many small files makes a few hundred bytes of
// short-lived objects per file; by default V8 grows the heap up to fourfold between full
// collections, so a run that keeps 40 MiB holds 150 MiB more of garbage. A 20 % growth limit keeps
// the heap close to what is live, at no measured cost in time (docs/BENCHMARKS.md "Peak memory").
// For the CLI only: the SDK leaves its host's heap settings alone. The flag is read at every full
// collection, so setting it when the process starts takes effect for the whole run.
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 20;

setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
