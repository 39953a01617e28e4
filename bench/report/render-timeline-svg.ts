/** One series of a timeline chart: values over time. */
export interface TimelineSeries {
  readonly label: string;
  readonly color: string;
  /** A thin dashed line (a setting rather than a measured flow). */
  readonly dashed?: boolean;
  readonly points: ReadonlyArray<{ readonly t: number; readonly v: number }>;
}

/** A shaded span of the timeline (e.g. when the foreground flow ran). */
export interface TimelineSpan {
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

const WIDTH = 960;
const HEIGHT = 360;
const LEFT = 60;
const RIGHT = 20;
const TOP = 56;
const BOTTOM = 44;

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/**
 * A hand-written SVG line chart of throughput over time (pure): x in seconds, y in `yUnit` up
 * to `yMax`, a dashed line at `yRef` (the link's rate), shaded spans, a legend. Values above
 * `yMax` are clipped.
 */
export function renderTimelineSvg(options: {
  readonly title: string;
  readonly subtitle: string;
  readonly series: readonly TimelineSeries[];
  readonly spans: readonly TimelineSpan[];
  readonly yMax: number;
  readonly yRef: { readonly value: number; readonly label: string };
  readonly yUnit: string;
}): string {
  const { series, spans, yMax, yRef } = options;
  const tMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.t)));
  const w = WIDTH - LEFT - RIGHT;
  const h = HEIGHT - TOP - BOTTOM;
  const x = (t: number): number => LEFT + (t / tMax) * w;
  const y = (v: number): number => TOP + h - (Math.min(Math.max(v, 0), yMax) / yMax) * h;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
    `<text x="10" y="40" fill="#555">${escapeXml(options.subtitle)}</text>`,
  ];
  for (const span of spans) {
    parts.push(
      `<rect x="${x(span.from).toFixed(1)}" y="${TOP}" width="${(x(span.to) - x(span.from)).toFixed(1)}" height="${h}" fill="#fff3e0"/>`,
      `<text x="${((x(span.from) + x(span.to)) / 2).toFixed(1)}" y="${TOP + 14}" text-anchor="middle" fill="#8d6e63">${escapeXml(span.label)}</text>`,
    );
  }
  parts.push(
    `<line x1="${LEFT}" y1="${TOP + h}" x2="${LEFT + w}" y2="${TOP + h}" stroke="#000"/>`,
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + h}" stroke="#000"/>`,
    `<line x1="${LEFT}" y1="${y(yRef.value).toFixed(1)}" x2="${LEFT + w}" y2="${y(yRef.value).toFixed(1)}" stroke="#555" stroke-dasharray="4 3"/>`,
    `<text x="${LEFT + w - 4}" y="${(y(yRef.value) - 4).toFixed(1)}" text-anchor="end" fill="#555">${escapeXml(yRef.label)}</text>`,
  );
  const tStep = tMax > 60 ? 10 : 5;
  for (let t = 0; t <= tMax; t += tStep) {
    parts.push(`<text x="${x(t).toFixed(1)}" y="${TOP + h + 16}" text-anchor="middle" fill="#333">${t}</text>`);
  }
  parts.push(`<text x="${LEFT + w / 2}" y="${HEIGHT - 8}" text-anchor="middle" fill="#333">seconds</text>`);
  for (const frac of [0, 0.25, 0.5, 0.75, 1]) {
    const v = yMax * frac;
    parts.push(
      `<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#333">${v.toFixed(1)}</text>`,
    );
  }
  parts.push(
    `<text x="14" y="${TOP + h / 2}" transform="rotate(-90 14 ${TOP + h / 2})" text-anchor="middle" fill="#333">${escapeXml(options.yUnit)}</text>`,
  );
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    parts.push(
      s.dashed === true
        ? `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1" stroke-dasharray="3 2"/>`
        : `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`,
      `<rect x="${LEFT + 10 + i * 220}" y="${TOP + 24}" width="14" height="4" fill="${s.color}"/>`,
      `<text x="${LEFT + 30 + i * 220}" y="${TOP + 30}" fill="#333">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
