import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMarkdown } from '../report/render-markdown.ts';
import { renderSvg } from '../report/render-svg.ts';
import { latestResults } from './results.ts';

/** Regenerate docs/benchmarks.md and docs/benchmarks.svg from the newest results; returns their paths. */
export function writeReport(resultsDir: string, docsDir: string): { md: string; svg: string } {
  const results = latestResults(resultsDir);
  mkdirSync(docsDir, { recursive: true });
  const md = join(docsDir, 'benchmarks.md');
  const svg = join(docsDir, 'benchmarks.svg');
  const rows = results.flatMap((r) => r.ratios.map((row) => ({ scenario: r.scenario, row })));
  const standIn = results.some((r) => r.meta.oursIsStandIn);
  writeFileSync(svg, renderSvg(rows, `openbits benchmark ratios${standIn ? ' (ours = stand-in, not openbits)' : ''}`));
  writeFileSync(md, renderMarkdown(results, 'benchmarks.svg'));
  return { md, svg };
}
