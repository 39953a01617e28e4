import { rmSync } from 'node:fs';
import type { DownloadItem, DownloadOptions } from '../adapters/ours.ts';
import type { PeerCommand } from '../adapters/peers.ts';
import { alternate, type BenchContext, push } from '../lib/context.ts';
import { runTimed } from '../lib/exec.ts';

/** What one run of any tool (ours or a peer) cost, as the scenarios compare it. */
export interface ToolRun {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly peakRssKiB: number;
  /** Per-file rates in bytes/s when the tool reports them (S4). */
  readonly perFileRates?: readonly number[];
  readonly stdout?: string;
}

/** A tool in a comparison: a name and a way to run it once. */
export interface Tool {
  readonly tool: string;
  run(): Promise<ToolRun>;
}

/** The tool name ours is shown under in every table. */
export const OURS = 'ours';

/** Ours as a Tool: one adapter download of `items`. */
export function oursTool(
  ctx: BenchContext,
  items: readonly DownloadItem[],
  mode: DownloadOptions['mode'],
  maxConnections = 1,
): Tool {
  return {
    tool: OURS,
    async run() {
      const m = await ctx.ours.download(items, { mode, cpu: ctx.clientCpu, maxConnections });
      const perFileRates = items.map((item, i) => item.size / ((m.perItemMs[i] ?? Number.NaN) / 1000));
      return { wallMs: m.wallMs, cpuMs: m.cpuMs, peakRssKiB: m.peakRssKiB, perFileRates };
    },
  };
}

/** A peer command as a Tool, run pinned under GNU time. */
export function peerTool(ctx: BenchContext, peer: PeerCommand): Tool {
  return {
    tool: peer.tool,
    async run() {
      const r = await runTimed(peer.argv, ctx.clientCpu);
      return { wallMs: r.wallMs, cpuMs: r.cpuMs, peakRssKiB: r.maxRssKiB, stdout: r.stdout };
    },
  };
}

/** Ours first, then the installed peers. */
export function withPeers(ctx: BenchContext, ours: Tool, peers: readonly PeerCommand[]): Tool[] {
  return [ours, ...peers.filter((p) => ctx.has(p.bin)).map((p) => peerTool(ctx, p))];
}

/**
 * Run tools that each write `dest` alternately (A B A B …), removing it before every run and after
 * the last: wall seconds and peak RSS (MiB) per tool. `afterRun` looks at `dest` before the next run.
 */
export async function timeIntoDest(
  ctx: BenchContext,
  tools: readonly Tool[],
  dest: string,
  notes: string[],
  afterRun: (tool: string) => void = () => {},
): Promise<{ wall: Map<string, number[]>; rss: Map<string, number[]> }> {
  const wall = new Map<string, number[]>();
  const rss = new Map<string, number[]>();
  await alternate(
    ctx.runs,
    tools,
    async (t) => {
      rmSync(dest, { force: true });
      const r = await t.run();
      afterRun(t.tool);
      push(wall, t.tool, r.wallMs / 1000);
      push(rss, t.tool, r.peakRssKiB / 1024);
    },
    notes,
    ctx.log,
  );
  rmSync(dest, { force: true });
  return { wall, rss };
}
