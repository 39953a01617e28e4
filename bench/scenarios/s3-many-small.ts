import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { manyFilePeers } from '../adapters/peers.ts';
import { alternate, type BenchContext, push, type Scenario } from '../lib/context.ts';
import { describeDisk } from '../lib/disk.ts';
import { mountJournaledDisk, unmountJournaledDisk } from '../lib/journaled-disk.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import type { Measurement } from '../lib/types.ts';
import { clearDir, dropCaches } from '../lib/workspace.ts';
import { OURS, oursTool, withPeers } from './download-tools.ts';

const METRIC = 'files per second';
const JOURNALED_METRIC = 'files per second, journaled ext4';

/** Every tool fetches the small files into `dir`, in alternation: files/s per tool. */
async function filesPerSecond(ctx: BenchContext, dir: string, metric: string, notes: string[]): Promise<Measurement[]> {
  const files = ctx.corpus.small;
  const urls = files.map((f) => ctx.url(f));
  const listFile = join(ctx.ws.scratch, 'small-urls.txt');
  writeFileSync(listFile, `${urls.join('\n')}\n`);
  const items = files.map((f, i) => ({ url: urls[i] as string, dest: join(dir, basename(f.path)), size: f.size }));
  const tools = withPeers(ctx, oursTool(ctx, items, 'one-job'), manyFilePeers(listFile, urls, dir));
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
  return [...rate].map(([tool, s]) => measurement(tool, metric, 'files/s', 'higher', s));
}

/**
 * S3: many 64 KiB files in one job vs wget -i, aria2c -i -j1 and one curl process; files/s — on
 * the bench's disk (the target's reading), then on a journaled ext4 (what a user's disk is).
 */
export const s3: Scenario = {
  id: 'S3',
  title: 'Many small files in one job → disk',
  async run(ctx) {
    const files = ctx.corpus.small;
    const notes = [
      `${files.length} × ${files[0] ? files[0].size / 1024 : 0} KiB to the disk (bench/work/disk: ${describeDisk(ctx.ws.diskDest)}). Ours makes each file durable (fdatasync + checkpoint); the peers do not sync.`,
    ];
    const measurements = await filesPerSecond(ctx, join(ctx.ws.diskDest, 'small'), METRIC, notes);
    const journaled = mountJournaledDisk(ctx.ws.root, 1024, ctx.log);
    if (journaled === null) notes.push('Journaled ext4: not measured (no loop device or mkfs.ext4 here; see the log).');
    else {
      try {
        notes.push(
          `Then the same into a fresh 1 GiB ext4 with a journal (mkfs.ext4's defaults: ${describeDisk(journaled.mountPoint)}), on a loop device in direct-I/O mode over an image in bench/work: a user's disk, where creating a file costs the same whatever was deleted before; no target.`,
        );
        measurements.push(...(await filesPerSecond(ctx, join(journaled.mountPoint, 'small'), JOURNALED_METRIC, notes)));
      } finally {
        unmountJournaledDisk(ctx.ws.root, ctx.log);
      }
    }
    const r = (tool: string, metric: string) =>
      medianOf(measurements, OURS, metric) / medianOf(measurements, tool, metric);
    const ratios = [
      ratioRow('files/s ours / wget -i', r('wget -i', METRIC), { op: '>=', value: 1 }),
      ratioRow('files/s ours / aria2c -i -j1', r('aria2c -i -j1', METRIC)),
      ratioRow('files/s ours / curl --remote-name-all', r('curl --remote-name-all', METRIC)),
      ...(journaled === null
        ? []
        : [ratioRow('files/s ours / wget -i, journaled ext4', r('wget -i', JOURNALED_METRIC))]),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
