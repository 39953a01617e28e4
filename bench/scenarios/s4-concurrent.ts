import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { concurrentPeers, parseAria2PerFile, parseCurlPerFile } from '../adapters/peers.ts';
import { alternate, push, type Scenario } from '../lib/context.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { clearDir } from '../lib/workspace.ts';
import { OURS, oursTool, withPeers } from './download-tools.ts';

/** Spread of per-job rates: 1 − slowest / fastest (0 = perfectly even). Pure. */
export function perJobSpread(rates: readonly number[]): number {
  const valid = rates.filter((r) => Number.isFinite(r) && r > 0);
  if (valid.length < 2) return Number.NaN;
  return 1 - Math.min(...valid) / Math.max(...valid);
}

/** S4: eight mid-sized files as concurrent jobs vs aria2c -j8 and curl -Z; aggregate MB/s and fairness. */
export const s4: Scenario = {
  id: 'S4',
  title: 'Concurrent jobs → tmpfs',
  async run(ctx) {
    const files = ctx.corpus.mid;
    const dir = join(ctx.ws.tmpDest, 'mid');
    const urls = files.map((f) => ctx.url(f));
    const listFile = join(ctx.ws.scratch, 'mid-urls.txt');
    writeFileSync(listFile, `${urls.join('\n')}\n`);
    const items = files.map((f, i) => ({ url: urls[i] as string, dest: join(dir, basename(f.path)), size: f.size }));
    const total = files.reduce((a, f) => a + f.size, 0);
    const tools = withPeers(ctx, oursTool(ctx, items, 'concurrent-jobs'), concurrentPeers(listFile, urls, dir));
    const notes = [
      `${files.length} × ${(files[0]?.size ?? 0) / 2 ** 20} MiB at once. Spread = 1 − slowest/fastest per-job average rate. aria2c reports per-file speeds rounded (e.g. whole MiB/s), so its spread is coarse.`,
    ];
    const aggregate = new Map<string, number[]>();
    const spread = new Map<string, number[]>();
    const rss = new Map<string, number[]>();
    await alternate(
      ctx.runs,
      tools,
      async (t) => {
        clearDir(dir);
        const r = await t.run();
        push(aggregate, t.tool, total / 1e6 / (r.wallMs / 1000));
        push(rss, t.tool, r.peakRssKiB / 1024);
        const perFile =
          r.perFileRates ??
          (t.tool.startsWith('aria2c') ? parseAria2PerFile(r.stdout ?? '') : parseCurlPerFile(r.stdout ?? ''));
        const s = perJobSpread(perFile);
        if (Number.isFinite(s)) push(spread, t.tool, s * 100);
      },
      notes,
      ctx.log,
    );
    clearDir(dir);
    const measurements = [
      ...[...aggregate].map(([tool, s]) => measurement(tool, 'aggregate throughput', 'MB/s', 'higher', s)),
      ...[...spread].map(([tool, s]) => measurement(tool, 'per-job spread', '%', 'lower', s)),
      ...[...rss].map(([tool, s]) => measurement(tool, 'peak RSS', 'MiB', 'lower', s)),
    ];
    const agg = (tool: string) => medianOf(measurements, tool, 'aggregate throughput');
    const ratios = [
      ratioRow('MB/s ours / aria2c -j8', agg(OURS) / agg('aria2c -j8'), { op: '>=', value: 1.0 }),
      ratioRow('MB/s ours / curl -Z', agg(OURS) / agg('curl -Z')),
      ratioRow('ours per-job spread (fraction)', medianOf(measurements, OURS, 'per-job spread') / 100, {
        op: '<=',
        value: 0.2,
      }),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
