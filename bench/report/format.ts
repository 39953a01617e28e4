import type { RatioRow, Target } from '../lib/types.ts';

/** A number with about three significant digits; an em dash for NaN/∞. Pure. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** A ratio: three decimals below 10, so rounding never hides which side of a target it is on. Pure. */
export function fmtRatio(value: number): string {
  if (Number.isFinite(value) && Math.abs(value) < 10) return value.toFixed(3);
  return fmt(value);
}

/** "≤ 1.10", "≥ 0.90", "< 150". Pure. */
export function fmtTarget(target: Target | null): string {
  if (!target) return '—';
  const op = target.op === '<=' ? '≤' : target.op === '>=' ? '≥' : '<';
  return `${op} ${target.value < 10 ? target.value.toFixed(2) : fmt(target.value)}`;
}

/** "met", "NOT met", "n/a" (no value) or "—" (no target). Pure. */
export function fmtMet(row: RatioRow): string {
  if (row.met === null) return '—';
  if (!Number.isFinite(row.value)) return 'n/a';
  return row.met ? 'met' : '**NOT met**';
}
