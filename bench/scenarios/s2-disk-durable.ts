import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { singleFilePeers, syncedPeer } from '../adapters/peers.ts';
import { alternate, push, type Scenario } from '../lib/context.ts';
import { describeDisk } from '../lib/disk.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { dropCaches } from '../lib/workspace.ts';
import { OURS, oursTool, withPeers } from './download-tools.ts';

/** S2: the big file to ext4, durable: ours (checkpointed, fdatasync'd) vs curl followed by sync -f. */
export const s2: Scenario = {
  id: 'S2',
  title: 'Big file → disk (ext4), durable',
  async run(ctx) {
    const file = ctx.corpus.big;
    const url = ctx.url(file);
    const dest = join(ctx.ws.diskDest, 'big.bin');
    const curl = singleFilePeers(url, dest).find((p) => p.tool === 'curl');
    const peers = curl ? [syncedPeer(curl, dest)] : [];
    const tools = withPeers(ctx, oursTool(ctx, [{ url, dest, size: file.size }], 'one-job'), peers);
    const notes = [
      `${(file.size / 2 ** 20).toFixed(0)} MiB to the disk (bench/work/disk: ${describeDisk(ctx.ws.diskDest)}). CPU = user + sys of the client processes (GNU time).`,
      ctx.ws.canDropCaches ? 'Page cache dropped before every run.' : 'Page cache NOT dropped (not permitted).',
    ];
    const wall = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    const GiB = file.size / 2 ** 30;
    await alternate(
      ctx.runs,
      tools,
      async (t) => {
        rmSync(dest, { force: true });
        dropCaches();
        const r = await t.run();
        push(wall, t.tool, r.wallMs / 1000);
        push(cpu, t.tool, r.cpuMs / 1000 / GiB);
      },
      notes,
      ctx.log,
    );
    rmSync(dest, { force: true });
    const measurements = [...wall].flatMap(([tool, s]) => [
      measurement(tool, 'time', 's', 'lower', s),
      measurement(
        tool,
        'throughput',
        'MB/s',
        'higher',
        s.map((sec) => file.size / 1e6 / sec),
      ),
      measurement(tool, 'CPU per GiB', 's/GiB', 'lower', cpu.get(tool) ?? []),
    ]);
    const ratios = [
      ratioRow(
        'time ours / (curl+sync)',
        medianOf(measurements, OURS, 'time') / medianOf(measurements, 'curl+sync', 'time'),
        {
          op: '<=',
          value: 1.1,
        },
      ),
      ratioRow(
        'CPU/GiB ours / curl',
        medianOf(measurements, OURS, 'CPU per GiB') / medianOf(measurements, 'curl+sync', 'CPU per GiB'),
        { op: '<=', value: 1.5 },
      ),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
