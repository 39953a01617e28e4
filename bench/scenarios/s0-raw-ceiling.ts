import { spawn } from 'node:child_process';
import { alternate, type BenchContext, push, type Scenario } from '../lib/context.ts';
import { collect, runTimed, sleep } from '../lib/exec.ts';
import { freePort } from '../lib/nginx.ts';
import { measurement } from '../lib/ratio.ts';
import type { Measurement } from '../lib/types.ts';

/** iperf3 loopback throughput (server on CPU 0, client on the client CPU), MB/s. */
async function iperf(ctx: BenchContext, seconds: number): Promise<number> {
  const port = String(await freePort());
  const server = spawn('taskset', ['-c', '0', 'iperf3', '-s', '-1', '-p', port], { stdio: 'ignore' });
  try {
    await sleep(300);
    const { stdout } = await collect('taskset', [
      '-c',
      ctx.clientCpu,
      'iperf3',
      '-c',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      String(seconds),
      '-J',
    ]);
    const result = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
    return result.end.sum_received.bits_per_second / 8 / 1e6;
  } finally {
    server.kill('SIGKILL');
  }
}

/** S0: the raw ceiling: curl and wget to /dev/null from nginx, and iperf3 on loopback. */
export const s0: Scenario = {
  id: 'S0',
  title: 'Raw ceiling: curl/wget → /dev/null, iperf3 on loopback',
  async run(ctx) {
    const file = ctx.corpus.big;
    const url = ctx.url(file);
    const notes: string[] = ['Context only: no ratio. MB/s = 10^6 bytes/s.'];
    const tools = [
      { tool: 'curl → /dev/null', bin: 'curl', argv: ['curl', '-s', '-f', '-o', '/dev/null', url] },
      { tool: 'wget → /dev/null', bin: 'wget', argv: ['wget', '-q', '-O', '/dev/null', url] },
    ].filter((t) => ctx.has(t.bin));
    const rates = new Map<string, number[]>();
    await alternate(
      ctx.runs,
      tools,
      async (t) => {
        const run = await runTimed(t.argv, ctx.clientCpu);
        push(rates, t.tool, file.size / 1e6 / (run.wallMs / 1000));
      },
      notes,
      ctx.log,
    );
    if (ctx.has('iperf3')) {
      const samples: number[] = [];
      for (let i = 0; i < Math.min(ctx.runs, 3); i++) samples.push(await iperf(ctx, ctx.quick ? 1 : 3));
      rates.set('iperf3 loopback', samples);
    } else notes.push('iperf3 not installed: no TCP loopback baseline.');
    const measurements: Measurement[] = [...rates].map(([tool, s]) =>
      measurement(tool, 'throughput', 'MB/s', 'higher', s),
    );
    return { status: 'ok', measurements, ratios: [], notes };
  },
};
