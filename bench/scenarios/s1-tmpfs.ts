import { join } from 'node:path';
import { singleFilePeers } from '../adapters/peers.ts';
import type { Scenario } from '../lib/context.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import type { RatioRow } from '../lib/types.ts';
import { OURS, oursTool, timeIntoDest, withPeers } from './download-tools.ts';

const OURS_X4 = 'ours -x4';

/** S1: the big file to a tmpfs destination: ours vs curl -o, wget -O, aria2c -x1 (and -x4). */
export const s1: Scenario = {
  id: 'S1',
  title: 'Big file → tmpfs destination',
  async run(ctx) {
    const file = ctx.corpus.big;
    const url = ctx.url(file);
    const dest = join(ctx.ws.tmpDest, 'big.bin');
    const tools = withPeers(
      ctx,
      oursTool(ctx, [{ url, dest, size: file.size }], 'one-job'),
      singleFilePeers(url, dest),
    );
    // Segmented: the same file over 4 connections (maxConnections 4, parts of ≥ 20 MiB).
    const segmented = oursTool(ctx, [{ url, dest, size: file.size }], 'one-job', 4);
    tools.splice(1, 0, { ...segmented, tool: OURS_X4 });
    const notes = [
      `${(file.size / 2 ** 20).toFixed(0)} MiB, same URL and destination for every tool.`,
      'Times run from process start to exit for every tool, so start-up cost (for a Node client: runtime + modules) weighs more on the small files of --quick.',
    ];
    const { wall, rss } = await timeIntoDest(ctx, tools, dest, notes);
    const measurements = [...wall].flatMap(([tool, s]) => [
      measurement(tool, 'time', 's', 'lower', s),
      measurement(
        tool,
        'throughput',
        'MB/s',
        'higher',
        s.map((sec) => file.size / 1e6 / sec),
      ),
      measurement(tool, 'peak RSS', 'MiB', 'lower', rss.get(tool) ?? []),
    ]);
    const t = (tool: string) => medianOf(measurements, tool, 'time');
    const ratios: RatioRow[] = [
      ratioRow('time ours / curl', t(OURS) / t('curl'), { op: '<=', value: 1.1 }),
      ratioRow('time ours / aria2c -x1', t(OURS) / t('aria2c -x1')),
      ratioRow('time ours / wget', t(OURS) / t('wget')),
      ratioRow('time ours -x4 / ours (segments vs one connection)', t(OURS_X4) / t(OURS)),
      ratioRow('time ours -x4 / aria2c -x4', t(OURS_X4) / t('aria2c -x4')),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
