import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { manyFilePeers } from '../adapters/peers.ts';
import { alternate, push, type Scenario } from '../lib/context.ts';
import { describeDisk } from '../lib/disk.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { clearDir, dropCaches } from '../lib/workspace.ts';
import { OURS, oursTool, withPeers } from './download-tools.ts';

/** S3: many 64 KiB files in one job vs wget -i, aria2c -i -j1 and one curl process; files/s. */
export const s3: Scenario = {
  id: 'S3',
  title: 'Many small files in one job → disk',
  async run(ctx) {
    const files = ctx.corpus.small;
    const dir = join(ctx.ws.diskDest, 'small');
    const urls = files.map((f) => ctx.url(f));
    const listFile = join(ctx.ws.scratch, 'small-urls.txt');
    writeFileSync(listFile, `${urls.join('\n')}\n`);
    const items = files.map((f, i) => ({ url: urls[i] as string, dest: join(dir, basename(f.path)), size: f.size }));
    const tools = withPeers(ctx, oursTool(ctx, items, 'one-job'), manyFilePeers(listFile, urls, dir));
    const notes = [
      `${files.length} × ${files[0] ? files[0].size / 1024 : 0} KiB to the disk (bench/work/disk: ${describeDisk(ctx.ws.diskDest)}). Ours makes each file durable (fdatasync + checkpoint); the peers do not sync.`,
    ];
    const rate = new Map<string, number[]>();
    await alternate(
      ctx.runs,
      tools,
      async (t) => {
        clearDir(dir);
        dropCaches(); // no dirty pages of the previous tool bleed into this run
        push(rate, t.tool, files.length / ((await t.run()).wallMs / 1000));
      },
      notes,
      ctx.log,
    );
    clearDir(dir);
    const measurements = [...rate].map(([tool, s]) => measurement(tool, 'files per second', 'files/s', 'higher', s));
    const r = (tool: string) =>
      medianOf(measurements, OURS, 'files per second') / medianOf(measurements, tool, 'files per second');
    const ratios = [
      ratioRow('files/s ours / wget -i', r('wget -i'), { op: '>=', value: 1 }),
      ratioRow('files/s ours / aria2c -i -j1', r('aria2c -i -j1')),
      ratioRow('files/s ours / curl --remote-name-all', r('curl --remote-name-all')),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
