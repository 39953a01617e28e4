import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measurement, ratioRow } from '../../bench/lib/ratio.ts';
import type { ScenarioResult } from '../../bench/lib/types.ts';
import { fmt, fmtRatio, fmtTarget } from '../../bench/report/format.ts';
import { renderMarkdown } from '../../bench/report/render-markdown.ts';
import { barValue, renderSvg } from '../../bench/report/render-svg.ts';

const meta = {
  runId: '2026-11-21T08-00-00Z',
  mode: 'quick' as const,
  commit: '0123456789abcdef',
  node: 'v24.21.0',
  oursLabel: 'stand-in',
  oursIsStandIn: true,
  machine: { cores: 2, cpuModel: 'CPU', memoryGiB: 23.5, kernel: '6.1' },
  startedAt: '2026-11-21T08:00:00Z',
};

function result(scenario: string, over: Partial<ScenarioResult>): ScenarioResult {
  return {
    scenario,
    title: `title ${scenario}`,
    meta,
    durationMs: 1,
    status: 'ok',
    measurements: [],
    ratios: [],
    notes: [],
    ...over,
  };
}

test('numbers and targets are formatted for tables', () => {
  assert.equal(fmt(1234.4), '1,234');
  assert.equal(fmt(12.34), '12.3');
  assert.equal(fmt(1.234), '1.23');
  assert.equal(fmt(Number.NaN), '—');
  assert.equal(fmtTarget({ op: '<=', value: 1.1 }), '≤ 1.10');
  assert.equal(fmtTarget({ op: '<', value: 150 }), '< 150');
  assert.equal(fmtTarget(null), '—');
  assert.equal(fmtRatio(0.8996), '0.900');
  assert.equal(fmtRatio(0.8996, { op: '>=', value: 0.9 }), '0.8996');
  assert.equal(fmtRatio(1.1004, { op: '<=', value: 1.1 }), '1.1004');
  assert.equal(fmtRatio(1.0004, { op: '<=', value: 1.1 }), '1.000');
  assert.equal(fmtRatio(123.4), '123');
});

test('markdown has a table per scenario, the ratio with its verdict, and the stand-in banner', () => {
  const md = renderMarkdown(
    [
      result('S1', {
        measurements: [measurement('ours', 'time', 's', 'lower', [2, 2.2, 1.8])],
        ratios: [ratioRow('time ours / curl', 2, { op: '<=', value: 1.1 }), ratioRow('ours |error| %', 3)],
        notes: ['128 MiB'],
        loadAverage: 0.5,
      }),
      result('S7', { status: 'not-available', notes: ['no upload capability'] }),
    ],
    'benchmarks.svg',
  );
  assert.match(md, /stand-in, not openbits/);
  assert.match(md, /## S1: title S1/);
  assert.match(md, /\| ours \| time \| 2\.00 \| 1\.80 \| 2\.20 \| 3 \| s \|/);
  assert.match(md, /\| time ours \/ curl \| 2\.000 \| ≤ 1\.10 \| \*\*NOT met\*\* \|/);
  assert.match(md, /\| S1 \| time ours \/ curl \| 2\.000 \| ≤ 1\.10 \| \*\*NOT met\*\* \|/);
  assert.match(md, /\| S7 \| not available yet \|/);
  assert.match(md, /\| ours \\\|error\\\| % \| 3\.000 \| — \| — \|/);
  assert.match(md, /\*\*Not available yet\.\*\* no upload capability/);
  assert.match(md, /!\[ratios against targets\]\(benchmarks\.svg\)/);
  assert.match(md, /commit `0123456789`/);
  assert.match(md, /Load average at start: 0\.50\./);
});

test('svg draws one bar per finite ratio, coloured by verdict, with escaped labels', () => {
  const svg = renderSvg(
    [
      { scenario: 'S1', row: ratioRow('a < b & c', 0.55, { op: '<=', value: 1.1 }) },
      { scenario: 'S4', row: ratioRow('ours / aria2c', 0.5, { op: '>=', value: 0.9 }) },
      { scenario: 'S1', row: ratioRow('no target', 2) },
      { scenario: 'S2', row: ratioRow('missing peer', Number.NaN) },
    ],
    'title',
  );
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 3);
  assert.match(svg, /S1 a &lt; b &amp; c/);
  assert.match(svg, /fill="#2e7d32"/);
  assert.match(svg, /fill="#c62828"/);
  assert.match(svg, /fill="#9e9e9e"/);
  assert.doesNotMatch(svg, /missing peer/);
  assert.equal(barValue(ratioRow('x', 0.55, { op: '<=', value: 1.1 })), 0.5);
  assert.equal(barValue(ratioRow('x', 2)), 2);
});
