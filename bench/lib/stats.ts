/** Median, min and max of a sample set (pure). */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** The median (mean of the two middle values for an even count). Throws on an empty set. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty sample set');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

/** Median, min, max and count of `values`. Throws on an empty set. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summary of an empty sample set');
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** Coefficient of variation (population standard deviation / mean); 0 for a zero mean. */
export function coefficientOfVariation(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean === 0) return 0;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return Math.sqrt(variance) / mean;
}
