import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningDownload } from '../adapters/ours.ts';
import { throttledPeers } from '../adapters/peers.ts';
import { alternate, type BenchContext, push, type Scenario } from '../lib/context.ts';
import { type ConnectionTrace, SLOT_MS, startCountingProxy, throttleStats } from '../lib/counting-proxy.ts';
import { processCpuMs, sleep } from '../lib/exec.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import type { Measurement, RatioRow } from '../lib/types.ts';
import { OURS } from './download-tools.ts';

const SKIP_SECONDS = 2;

/** All connections of one run folded into one trace, aligned on the first connection. Pure. */
export function mergeTraces(traces: readonly ConnectionTrace[]): ConnectionTrace {
  const first = traces[0];
  if (!first) return { openedAt: 0, slots: [] };
  const slots: number[] = [];
  for (const t of traces) {
    const shift = Math.floor((t.openedAt - first.openedAt) / SLOT_MS);
    t.slots.forEach((bytes, i) => {
      slots[i + shift] = (slots[i + shift] ?? 0) + bytes;
    });
  }
  return { openedAt: first.openedAt, slots: Array.from(slots, (v) => v ?? 0) };
}

/** A peer started in the background; stopped with SIGKILL. */
function startPeer(argv: readonly string[], cpu: string): RunningDownload {
  const child = spawn('taskset', ['-c', cpu, ...argv], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    cpuMs: () => (child.pid ? processCpuMs(child.pid) : Promise.resolve(Number.NaN)),
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function label(limit: number): string {
  return `${limit / 1e6} MB/s`;
}

/** S6: throttling accuracy at 1 and 10 MB/s, measured by a counting proxy in front of nginx. */
export const s6: Scenario = {
  id: 'S6',
  title: 'Throttle accuracy at 1 MB/s and 10 MB/s (measured at the server side)',
  async run(ctx: BenchContext) {
    // Quick mode: one 10 s run per tool and limit (kernel buffers make shorter runs meaningless at 1 MB/s).
    const seconds = ctx.quick ? 10 : 30;
    const runs = ctx.quick ? 1 : ctx.runs;
    const limits = [1e6, 1e7];
    const proxy = await startCountingProxy(ctx.nginx.port);
    const file = ctx.corpus.big;
    const url = `http://127.0.0.1:${proxy.port}${file.urlPath}`;
    const dest = join(ctx.ws.tmpDest, 'throttled.bin');
    const notes = [
      `Each tool fetches ${file.urlPath} through a counting TCP proxy for ${seconds} s, then is killed; 1 s windows from ${SKIP_SECONDS} s on. ${runs} run(s) per tool. MB/s = 10^6 bytes/s.`,
    ];
    if (!ctx.ours.startThrottled) notes.push('Ours: not available yet (the adapter has no startThrottled capability).');
    const errorPct = new Map<string, number[]>();
    const maxWindow = new Map<string, number[]>();
    const cpuPct = new Map<string, number[]>();
    const cv = new Map<string, number[]>();
    try {
      for (const limit of limits) {
        const ours = ctx.ours.startThrottled?.bind(ctx.ours);
        const tools = [
          ...(ours ? [{ tool: OURS, start: () => ours({ url, dest, size: file.size }, limit, ctx.clientCpu) }] : []),
          ...throttledPeers(url, dest, limit)
            .filter((p) => ctx.has(p.bin))
            .map((p) => ({ tool: p.tool, start: async () => startPeer(p.argv, ctx.clientCpu) })),
        ];
        await alternate(
          runs,
          tools,
          async (t) => {
            rmSync(dest, { force: true });
            proxy.reset();
            const running = await t.start();
            await sleep(seconds * 1000);
            const cpu = await running.cpuMs();
            await running.stop();
            const stats = throttleStats(mergeTraces(proxy.traces()), limit, SKIP_SECONDS, seconds);
            const key = `${t.tool}|${label(limit)}`;
            push(errorPct, key, stats.meanErrorPct);
            push(maxWindow, key, stats.maxWindowRatio);
            push(cv, key, stats.cv);
            if (Number.isFinite(cpu)) push(cpuPct, key, (cpu / (seconds * 1000)) * 100);
          },
          notes,
          ctx.log,
        );
      }
    } finally {
      await proxy.close();
      rmSync(dest, { force: true });
    }
    const rows = (map: Map<string, number[]>, metric: string, unit: string): Measurement[] =>
      [...map].map(([key, s]) => {
        const [tool = '', limit = ''] = key.split('|');
        return measurement(tool, `${metric} @ ${limit}`, unit, 'lower', s);
      });
    const measurements = [
      ...rows(errorPct, 'mean error', '%'),
      ...rows(maxWindow, 'max 1 s window / limit', '×'),
      ...rows(cv, 'coefficient of variation of 1 s windows', 'σ/mean'),
      ...rows(cpuPct, 'CPU', '% of a core'),
    ];
    const ratios: RatioRow[] = limits.flatMap((limit) => [
      ratioRow(
        `ours |mean error| % @ ${label(limit)}`,
        Math.abs(medianOf(measurements, OURS, `mean error @ ${label(limit)}`)),
        {
          op: '<=',
          value: 5,
        },
      ),
      ratioRow(
        `ours max 1 s window / limit @ ${label(limit)}`,
        medianOf(measurements, OURS, `max 1 s window / limit @ ${label(limit)}`),
        { op: '<=', value: 1.25 },
      ),
    ]);
    return { status: 'ok', measurements, ratios, notes };
  },
};
