import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBottleneck } from '../../test/helpers/bottleneck.ts';
import type { BenchContext, Scenario } from '../lib/context.ts';
import { measurement, ratioRow } from '../lib/ratio.ts';
import { median } from '../lib/stats.ts';
import type { Measurement, RatioRow } from '../lib/types.ts';
import { curlFor, type FlowPoint, peerBeside, type YieldTimeline, yieldTimeline } from '../lib/yield-run.ts';
import { renderTimelineSvg } from '../report/render-timeline-svg.ts';

const DOCS_SVG = fileURLToPath(new URL('../../docs/yield.svg', import.meta.url));

/** The phases of one openbits run (seconds). */
export const PHASES = { aloneSeconds: 30, foregroundSeconds: 12, afterSeconds: 10 } as const;
const PEER_SETTLE_S = 6;
const PING_S = 8;

/** 1 s running means of both flows every half second, in Mbit/s (for the plot). Pure. */
export function smoothed(points: readonly FlowPoint[]): {
  bg: { t: number; v: number }[];
  fg: { t: number; v: number }[];
} {
  const bg: { t: number; v: number }[] = [];
  const fg: { t: number; v: number }[] = [];
  const end = points.at(-1)?.t ?? 0;
  for (let t = 1; t <= end; t += 0.5) {
    const w = points.filter((p) => p.t > t - 1 && p.t <= t);
    if (w.length === 0) continue;
    const mbit = (f: (p: FlowPoint) => number) => (w.reduce((a, p) => a + f(p), 0) / w.length) * 8e-6;
    bg.push({ t, v: mbit((p) => p.background) });
    fg.push({ t, v: mbit((p) => p.foreground) });
  }
  return { bg, fg };
}

/** The SVG of one run: openbits and the foreground curl on the 20 Mbit/s link. */
export function timelineSvg(run: YieldTimeline, rateBytes: number, note: string): string {
  const { bg, fg } = smoothed(run.points);
  const mbit = (rateBytes * 8) / 1e6;
  return renderTimelineSvg({
    title: `S15: openbits (NORMAL) yields to a foreground curl on a ${mbit} Mbit/s link`,
    subtitle: note,
    series: [
      { label: 'openbits (background job)', color: '#1565c0', points: bg },
      { label: 'curl (foreground)', color: '#e65100', points: fg },
      {
        label: 'openbits controller rate',
        color: '#2e7d32',
        dashed: true,
        points: run.controller.map((c) => ({ t: c.t, v: c.rate * 8e-6 })),
      },
    ],
    spans: [{ from: run.foregroundStart, to: run.foregroundEnd, label: 'foreground curl runs' }],
    yMax: mbit * 1.2,
    yRef: { value: mbit, label: `link ${mbit} Mbit/s` },
    yUnit: 'Mbit/s (1 s mean)',
  });
}

/**
 * S15 (issue 15): yielding in a real bottleneck. Two network namespaces joined by a veth pair,
 * the server side shaped to 20 Mbit/s with a 50 ms tbf queue, nginx behind it. In the client
 * namespace: a foreground curl alone; openbits (bitsd, a NORMAL job) alone, then beside the
 * foreground curl, then alone again; aria2c and curl as background tools beside the same
 * foreground curl; a ping through the link in each case. Needs root.
 */
export const s15: Scenario = {
  id: 'S15',
  title: 'Yielding to a foreground flow in a 20 Mbit/s bottleneck (netns + tbf)',
  async run(ctx: BenchContext) {
    const runs = ctx.quick ? 1 : ctx.runs;
    const link = await startBottleneck({ prefix: 'ledbat', dir: join(ctx.ws.scratch, 's15-nginx') });
    const notes = [
      `Link: veth between two network namespaces, ${link.rateBytes * 8e-6} Mbit/s tbf with a 50 ms queue on the server side; nginx serves a sparse 4 GiB file; the machine's TCP congestion control is the senders'. ${runs} run(s); medians. Rates are payload bytes over the nominal link rate (${link.rateBytes} B/s).`,
      `openbits: bitsd in the client namespace, one NORMAL job: ${PHASES.aloneSeconds} s alone (share measured from 8 s on; ping over the 10 s before its last second), then a foreground curl for ${PHASES.foregroundSeconds} s, then ${PHASES.afterSeconds} s alone. Flows sampled every 100 ms: bitsd's socket reads (/proc/PID/io rchar) and the curl's output file.`,
      'Gives way: from the foreground curl’s first byte (its start-up in the namespace is listed apart) until openbits’s 1 s mean is under 10 % of the link. Takes back: from the foreground end until it is back at 80 % of its alone rate.',
      `Load average at the start: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}.`,
    ];
    const samples = {
      solo: [] as number[],
      idlePing: [] as number[],
      alone: [] as number[],
      beside: [] as number[],
      give: [] as number[],
      fgStartup: [] as number[],
      back: [] as number[],
      ping: [] as number[],
      aria2Ping: [] as number[],
      aria2Beside: [] as number[],
      curlPing: [] as number[],
      curlBeside: [] as number[],
    };
    const timelines: YieldTimeline[] = [];
    // The machine's 1-minute load average around each openbits run (a loaded machine's timers and
    // reads are late; the figures should be read beside it).
    const loads: string[] = [];
    try {
      for (let round = 0; round < runs; round++) {
        ctx.log(`  S15 round ${round + 1}/${runs}`);
        samples.idlePing.push(median(await link.ping(4)));
        samples.solo.push(await curlFor(link, PHASES.foregroundSeconds).rate);
        const loadBefore = loadavg()[0] as number;
        const run = await yieldTimeline(link, join(ctx.ws.scratch, `s15-bitsd-${round}`), PHASES);
        loads.push(`${loadBefore.toFixed(1)}→${(loadavg()[0] as number).toFixed(1)}`);
        timelines.push(run);
        samples.alone.push(run.aloneRate);
        samples.beside.push(run.foregroundRate);
        samples.give.push(run.givesWaySeconds);
        samples.fgStartup.push(run.foregroundFirstByte - run.foregroundStart);
        samples.back.push(run.takesBackSeconds);
        samples.ping.push(median(run.pingMs));
        const peer = { settleSeconds: PEER_SETTLE_S, pingSeconds: PING_S, foregroundSeconds: PHASES.foregroundSeconds };
        if (ctx.has('aria2c')) {
          const a = await peerBeside(
            link,
            [
              'aria2c',
              '-q',
              '-x1',
              '-d',
              ctx.ws.scratch,
              '-o',
              's15-aria2.bin',
              '--allow-overwrite=true',
              '--file-allocation=none',
              link.bigUrl,
            ],
            peer,
          );
          samples.aria2Ping.push(median(a.pingMs));
          samples.aria2Beside.push(a.foregroundRate);
        }
        const c = await peerBeside(link, ['curl', '-s', '-o', '/dev/null', link.bigUrl], peer);
        samples.curlPing.push(median(c.pingMs));
        samples.curlBeside.push(c.foregroundRate);
      }
    } finally {
      await link.close();
    }
    const solo = median(samples.solo);
    const idle = median(samples.idlePing);
    const share = (xs: number[]) => xs.map((v) => v / link.rateBytes);
    const vsSolo = (xs: number[]) => xs.map((v) => v / solo);
    const rise = (xs: number[]) => xs.map((v) => v - idle);
    const measurements: Measurement[] = [
      measurement('curl (foreground)', 'alone, share of the link', '×', 'higher', share(samples.solo)),
      measurement('openbits', 'alone, share of the link', '×', 'higher', share(samples.alone)),
      measurement('openbits', 'foreground curl beside it / curl alone', '×', 'higher', vsSolo(samples.beside)),
      measurement('curl (foreground)', 'start-up to its first byte', 's', 'lower', samples.fgStartup),
      measurement('openbits', 'gives way', 's', 'lower', samples.give),
      measurement('openbits', 'takes the link back', 's', 'lower', samples.back),
      measurement('ping', 'idle link RTT', 'ms', 'lower', samples.idlePing),
      measurement('openbits', 'ping RTT rise', 'ms', 'lower', rise(samples.ping)),
      measurement(
        'curl (background)',
        'foreground curl beside it / curl alone',
        '×',
        'higher',
        vsSolo(samples.curlBeside),
      ),
      measurement('curl (background)', 'ping RTT rise', 'ms', 'lower', rise(samples.curlPing)),
    ];
    if (samples.aria2Ping.length > 0) {
      measurements.push(
        measurement('aria2c', 'foreground curl beside it / curl alone', '×', 'higher', vsSolo(samples.aria2Beside)),
        measurement('aria2c', 'ping RTT rise', 'ms', 'lower', rise(samples.aria2Ping)),
      );
    }
    const m = (tool: string, metric: string) =>
      measurements.find((x) => x.tool === tool && x.metric === metric)?.median ?? Number.NaN;
    const ratios: RatioRow[] = [
      ratioRow('foreground beside openbits / alone', m('openbits', 'foreground curl beside it / curl alone'), {
        op: '>=',
        value: 0.9,
      }),
      ratioRow('openbits alone / link', m('openbits', 'alone, share of the link'), { op: '>=', value: 0.85 }),
      ratioRow('openbits gives way (s)', m('openbits', 'gives way'), { op: '<=', value: 2 }),
      ratioRow('openbits takes the link back (s)', m('openbits', 'takes the link back'), { op: '<=', value: 5 }),
      ratioRow('ping RTT rise beside openbits (ms)', m('openbits', 'ping RTT rise'), { op: '<=', value: 25 }),
      ratioRow('foreground beside curl / alone', m('curl (background)', 'foreground curl beside it / curl alone')),
      ratioRow('ping RTT rise beside curl (ms)', m('curl (background)', 'ping RTT rise')),
      ...(samples.aria2Ping.length > 0
        ? [
            ratioRow('foreground beside aria2c / alone', m('aria2c', 'foreground curl beside it / curl alone')),
            ratioRow('ping RTT rise beside aria2c (ms)', m('aria2c', 'ping RTT rise')),
          ]
        : []),
    ];
    notes.push(`Load average (1 min) before → after each openbits run: ${loads.join(', ')} (2 cores).`);
    // S15_TIMELINES=PATH keeps every run's flows and controller steps (to study a run).
    if (process.env.S15_TIMELINES) writeFileSync(process.env.S15_TIMELINES, JSON.stringify(timelines));
    // The plot: the run whose foreground ratio is the median one.
    const order = timelines.map((t, i) => ({ i, v: t.foregroundRate })).sort((a, b) => a.v - b.v);
    const shown = timelines[order[Math.floor(order.length / 2)]?.i ?? 0];
    if (shown !== undefined) {
      writeFileSync(
        DOCS_SVG,
        timelineSvg(shown, link.rateBytes, `The median of ${runs} run(s) (by the foreground's rate); ${notes[3]}`),
      );
      notes.push('docs/yield.svg: both flows over time in the median run.');
    }
    return { status: 'ok', measurements, ratios, notes };
  },
};
