import { meets } from '../lib/ratio.ts';
import type { RatioRow, Target } from '../lib/types.ts';

/** A number with about three significant digits; an em dash for NaN/∞. Pure. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/**
 * A ratio: three decimals below 10, more when rounding would put it on the other side of its
 * target (0.8996 against ≥ 0.9 prints 0.8996, not 0.900). Pure.
 */
export function fmtRatio(value: number, target: Target | null = null): string {
  if (!Number.isFinite(value) || Math.abs(value) >= 10) return fmt(value);
  for (let digits = 3; digits < 8; digits++) {
    const text = value.toFixed(digits);
    if (!target || meets(Number(text), target) === meets(value, target)) return text;
  }
  return String(value);
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
