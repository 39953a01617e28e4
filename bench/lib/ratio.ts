import { summarize } from './stats.ts';
import type { Measurement, RatioRow, Target } from './types.ts';

/** Summarise raw samples into a Measurement. */
export function measurement(
  tool: string,
  metric: string,
  unit: string,
  better: 'higher' | 'lower',
  samples: readonly number[],
): Measurement {
  return { tool, metric, unit, better, ...summarize(samples), samples: [...samples] };
}

/** Whether `value` meets `target`. */
export function meets(value: number, target: Target): boolean {
  if (!Number.isFinite(value)) return false;
  if (target.op === '<=') return value <= target.value;
  if (target.op === '<') return value < target.value;
  return value >= target.value;
}

/** A ratio row; `met` is null without a target. */
export function ratioRow(label: string, value: number, target: Target | null = null): RatioRow {
  return { label, value, target, met: target ? meets(value, target) : null };
}

/** The median of `tool`'s `metric` in `rows`, or NaN when that tool did not run. */
export function medianOf(rows: readonly Measurement[], tool: string, metric: string): number {
  return rows.find((m) => m.tool === tool && m.metric === metric)?.median ?? Number.NaN;
}
