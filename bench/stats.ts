// Small statistics shared by the benchmarks: medians and percentiles of repeated measurements.

/** The q-quantile (0..1) of `values` by nearest rank; q = 0.5 is the median. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** Formats a number with `digits` decimals, for Markdown tables. */
export const fixed = (value: number, digits = 2): string => value.toFixed(digits);
