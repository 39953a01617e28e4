import type { RatioRow } from '../lib/types.ts';
import { fmtRatio, fmtTarget } from './format.ts';

/** One bar of the chart: a scenario's ratio row. */
export interface ChartRow {
  readonly scenario: string;
  readonly row: RatioRow;
}

const WIDTH = 960;
const LABEL_W = 430;
const BAR_MAX = 360;
const ROW_H = 22;
const TOP = 56;
const SCALE_MAX = 3;

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** Bar length in chart units: value ÷ target for rows with a target, else the raw ratio. Pure. */
export function barValue(row: RatioRow): number {
  return row.target ? row.value / row.target.value : row.value;
}

/**
 * A hand-written SVG bar chart (pure). Each bar is value ÷ target (green met, red not met) or,
 * for rows without a target, the raw ours/peer ratio (grey). The line at 1 is target or parity.
 */
export function renderSvg(rows: readonly ChartRow[], title: string): string {
  const shown = rows.filter((r) => Number.isFinite(r.row.value));
  const height = TOP + shown.length * ROW_H + 30;
  const x1 = LABEL_W + BAR_MAX / SCALE_MAX;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="40" fill="#555">Bar = value ÷ target (green met, red not met), or the raw ours/peer ratio (grey). Dashed line = 1 (target or parity); bars clipped at ${SCALE_MAX}.</text>`,
  ];
  shown.forEach(({ scenario, row }, i) => {
    const y = TOP + i * ROW_H;
    const v = barValue(row);
    const len = Math.max(1, Math.min(v, SCALE_MAX) * (BAR_MAX / SCALE_MAX));
    const color = row.met === null ? '#9e9e9e' : row.met ? '#2e7d32' : '#c62828';
    const text = `${fmtRatio(row.value, row.target)}${row.target ? ` (target ${fmtTarget(row.target)})` : ''}`;
    parts.push(
      `<text x="${LABEL_W - 8}" y="${y + 15}" text-anchor="end">${escapeXml(`${scenario} ${row.label}`)}</text>`,
      `<rect x="${LABEL_W}" y="${y + 4}" width="${len.toFixed(1)}" height="${ROW_H - 8}" fill="${color}"/>`,
      `<text x="${(LABEL_W + len + 6).toFixed(1)}" y="${y + 15}" fill="#333">${escapeXml(text)}</text>`,
    );
  });
  const bottom = TOP + shown.length * ROW_H;
  parts.push(
    `<line x1="${x1}" y1="${TOP - 4}" x2="${x1}" y2="${bottom + 4}" stroke="#000" stroke-dasharray="4 3"/>`,
    `<text x="${x1}" y="${bottom + 18}" text-anchor="middle" fill="#555">1</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
