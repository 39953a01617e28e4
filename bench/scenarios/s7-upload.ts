import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { alternate, notAvailable, push, type Scenario } from '../lib/context.ts';
import { runTimed } from '../lib/exec.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { OURS } from './download-tools.ts';

/** S7: BITS upload of the big file to our upload server vs `curl -T` to nginx, and vs our download of it. */
export const s7: Scenario = {
  id: 'S7',
  title: 'BITS upload of the big file',
  async run(ctx) {
    const upload = ctx.ours.upload?.bind(ctx.ours);
    if (!upload) return notAvailable('Not available yet: the adapter has no upload capability.');
    const file = ctx.corpus.big;
    const dest = join(ctx.ws.tmpDest, 'big.bin');
    const notes: string[] = [
      `${file.size / 2 ** 20} MiB; download = ours fetching the same file to tmpfs. curl -T = a plain PUT of the file to nginx (WebDAV PUT into a folder on the same ext4 disk as the upload server's; nginx does not fsync, bits-upload-server does).`,
      'curl -T + sync = the same PUT, then `sync -d` of the file nginx wrote: the promise an Ack of bits-upload-server makes (the bytes are on the disk), for context; the target stays against curl -T.',
    ];
    const putUrl = `${ctx.nginx.baseUrl}/put/up.bin`;
    const putFile = join(ctx.ws.diskDest, 'nginx-put', 'up.bin');
    const rate = new Map<string, number[]>();
    const tools = [
      { tool: `${OURS} upload`, run: () => upload(file.path, file.size, ctx.clientCpu) },
      {
        tool: 'curl -T',
        run: async () => {
          const r = await runTimed(['curl', '-s', '-f', '-T', file.path, putUrl], ctx.clientCpu);
          rmSync(putFile, { force: true });
          return r;
        },
      },
      {
        tool: 'curl -T + sync',
        run: async () => {
          const put = await runTimed(['curl', '-s', '-f', '-T', file.path, putUrl], ctx.clientCpu);
          const sync = await runTimed(['sync', '-d', putFile], ctx.clientCpu);
          rmSync(putFile, { force: true });
          return { wallMs: put.wallMs + sync.wallMs };
        },
      },
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
        'MB/s upload / curl -T',
        medianOf(measurements, `${OURS} upload`, 'throughput') / medianOf(measurements, 'curl -T', 'throughput'),
        { op: '>=', value: 0.8 },
      ),
      ratioRow(
        'MB/s upload / (curl -T + sync)',
        medianOf(measurements, `${OURS} upload`, 'throughput') / medianOf(measurements, 'curl -T + sync', 'throughput'),
      ),
      ratioRow(
        'MB/s upload / download',
        medianOf(measurements, `${OURS} upload`, 'throughput') /
          medianOf(measurements, `${OURS} download`, 'throughput'),
      ),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
