import { basename, join } from 'node:path';
import type { DownloadItem, DownloadOptions } from '../adapters/ours.ts';
import { alternate, push, type Scenario } from '../lib/context.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { clearDir } from '../lib/workspace.ts';

/** S9: peak RSS of ours (whole process tree) as the file grows, and with concurrent jobs. */
export const s9: Scenario = {
  id: 'S9',
  title: 'Peak RSS of ours',
  async run(ctx) {
    const dir = join(ctx.ws.tmpDest, 'rss');
    const { big, mid } = ctx.corpus;
    const one = mid[0];
    if (!one) throw new Error('the corpus has no mid files');
    const MiB = 2 ** 20;
    const item = (f: typeof big): DownloadItem => ({
      url: ctx.url(f),
      dest: join(dir, basename(f.path)),
      size: f.size,
    });
    const cases: Array<{ tool: string; items: DownloadItem[]; mode: DownloadOptions['mode'] }> = [
      { tool: `1 file of ${one.size / MiB} MiB`, items: [item(one)], mode: 'one-job' },
      { tool: `1 file of ${big.size / MiB} MiB`, items: [item(big)], mode: 'one-job' },
      { tool: `${mid.length} concurrent jobs × ${one.size / MiB} MiB`, items: mid.map(item), mode: 'concurrent-jobs' },
    ];
    const notes = [
      'Peak RSS (VmHWM / GNU time %M) of every process of ours, MiB.',
      'V8 frees dead Buffers lazily (external memory triggers a GC only after tens of MiB), so RSS rises by up to that much before it levels off; flatness shows between the two largest sizes of a full run.',
    ];
    const rss = new Map<string, number[]>();
    await alternate(
      ctx.runs,
      cases,
      async (c) => {
        clearDir(dir);
        const m = await ctx.ours.download(c.items, { mode: c.mode, cpu: ctx.clientCpu });
        push(rss, c.tool, m.peakRssKiB / 1024);
      },
      notes,
      ctx.log,
    );
    clearDir(dir);
    const measurements = [...rss].map(([tool, s]) => measurement(tool, 'peak RSS', 'MiB', 'lower', s));
    const [small, large, concurrent] = cases.map((c) => medianOf(measurements, c.tool, 'peak RSS'));
    const ratios = [
      ratioRow(`peak RSS MiB, ${big.size / MiB} MiB file`, large ?? Number.NaN, { op: '<', value: 150 }),
      ratioRow(`peak RSS MiB, ${mid.length} concurrent jobs`, concurrent ?? Number.NaN, { op: '<', value: 150 }),
      ratioRow(
        `RSS growth ${one.size / MiB} → ${big.size / MiB} MiB file (×)`,
        (large ?? Number.NaN) / (small ?? Number.NaN),
        { op: '<=', value: 1.1 },
      ),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
