import { join } from 'node:path';
import { alternate, notAvailable, push, type Scenario } from '../lib/context.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { OURS } from './download-tools.ts';

/** S7: BITS upload of the big file to our upload server vs our download of it. */
export const s7: Scenario = {
  id: 'S7',
  title: 'BITS upload of the big file',
  async run(ctx) {
    const upload = ctx.ours.upload?.bind(ctx.ours);
    if (!upload) return notAvailable('Not available yet: the adapter has no upload capability.');
    const file = ctx.corpus.big;
    const dest = join(ctx.ws.tmpDest, 'big.bin');
    const notes: string[] = [`${file.size / 2 ** 20} MiB; download = ours fetching the same file to tmpfs.`];
    const rate = new Map<string, number[]>();
    const tools = [
      { tool: `${OURS} upload`, run: () => upload(file.path, file.size, ctx.clientCpu) },
      {
        tool: `${OURS} download`,
        run: () =>
          ctx.ours.download([{ url: ctx.url(file), dest, size: file.size }], { mode: 'one-job', cpu: ctx.clientCpu }),
      },
    ];
    await alternate(
      ctx.runs,
      tools,
      async (t) => push(rate, t.tool, file.size / 1e6 / ((await t.run()).wallMs / 1000)),
      notes,
      ctx.log,
    );
    const measurements = [...rate].map(([tool, s]) => measurement(tool, 'throughput', 'MB/s', 'higher', s));
    const ratios = [
      ratioRow(
        'MB/s upload / download',
        medianOf(measurements, `${OURS} upload`, 'throughput') /
          medianOf(measurements, `${OURS} download`, 'throughput'),
      ),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
