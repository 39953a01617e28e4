import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type CliPair, urlListText } from '../adapters/cli-command.ts';
import type { CliRoute } from '../adapters/ours.ts';
import { alternate, type BenchContext, notAvailable, type Scenario } from '../lib/context.ts';
import { describeDisk } from '../lib/disk.ts';
import { runTimed } from '../lib/exec.ts';
import { medianOf, ratioRow } from '../lib/ratio.ts';
import type { ScenarioOutcome } from '../lib/types.ts';
import { clearDir, dropCaches } from '../lib/workspace.ts';
import { type CliRunner, cliSession, SampleTable, warmCli } from './cli-tools.ts';

/** The peer of the many-file CLI scenarios, as the issue types it. */
export const WGET_I = 'wget -i';

/** How ours fetches the pairs in one many-file CLI scenario. */
export interface ManyFilesRoute {
  readonly id: string;
  readonly title: string;
  /** The tool name in the tables. */
  readonly tool: string;
  /** Scenario-specific notes (the command lines); `route` is the CLI, `pairs` what to fetch. */
  notes(route: CliRoute, pairs: readonly CliPair[], ctx: BenchContext): string[];
  /** Untimed preparation before the first run (e.g. writing a list file). */
  prepare?(pairs: readonly CliPair[], ctx: BenchContext): void;
  /**
   * Runs the bitsadmin processes of one transfer of every pair; may return the seconds each step
   * took (reported as metrics of their own, e.g. `step /complete`).
   */
  session(
    cli: CliRunner,
    pairs: readonly CliPair[],
    ctx: BenchContext,
  ): Promise<Readonly<Record<string, number>> | undefined>;
}

/**
 * A scenario: the small-file corpus (1,000 × 64 KiB in a full run) to ext4 through the CLI vs
 * `wget -q -P DIR -i urls.txt`, tools alternating, the page cache dropped before every run (as S3).
 */
export function manyFilesScenario(spec: ManyFilesRoute): Scenario {
  return {
    id: spec.id,
    title: spec.title,
    async run(ctx): Promise<ScenarioOutcome> {
      const route = ctx.ours.cli?.();
      if (!route) return notAvailable('Not available yet: the adapter has no cli capability.');
      const files = ctx.corpus.small;
      const dir = join(ctx.ws.diskDest, 'cli-small');
      const urls = files.map((f) => ctx.url(f));
      const pairs = files.map((f, i) => ({ url: urls[i] as string, dest: join(dir, basename(f.path)) }));
      const listFile = join(ctx.ws.scratch, 'cli-small-urls.txt');
      writeFileSync(listFile, urlListText(urls));
      const wget = ['wget', '-q', '-P', dir, '-i', listFile];
      const notes = [
        `${files.length} × ${(files[0]?.size ?? 0) / 1024} KiB to the disk (bench/work/disk: ${describeDisk(ctx.ws.diskDest)}); page cache dropped before every run. Peer: \`${wget.join(' ')}\` (no sync).`,
        ...spec.notes(route, pairs, ctx),
      ];
      spec.prepare?.(pairs, ctx);
      await warmCli(route, ctx.clientCpu);
      const table = new SampleTable();
      const tools = [
        {
          tool: spec.tool,
          async run() {
            let steps: Readonly<Record<string, number>> | undefined;
            const m = await cliSession(route, ctx.clientCpu, async (cli) => {
              steps = await spec.session(cli, pairs, ctx);
            });
            table.addSession(spec.tool, m);
            for (const [step, seconds] of Object.entries(steps ?? {}))
              table.add(spec.tool, step, 's', 'lower', seconds);
          },
        },
        ...(ctx.has('wget')
          ? [{ tool: WGET_I, run: async () => table.addPeer(WGET_I, await runTimed(wget, ctx.clientCpu)) }]
          : []),
      ];
      await alternate(
        ctx.runs,
        tools,
        async (t) => {
          clearDir(dir);
          dropCaches();
          await t.run();
        },
        notes,
        ctx.log,
      );
      clearDir(dir);
      const measurements = table.measurements();
      const m = (tool: string, metric: string) => medianOf(measurements, tool, metric);
      const ratios = [
        ratioRow(`time ${spec.tool} / wget -i`, m(spec.tool, 'time') / m(WGET_I, 'time'), { op: '<=', value: 1.5 }),
        ratioRow(
          'CPU (bitsadmin + bitsd) / wget -i',
          m(spec.tool, 'CPU, all processes') / m(WGET_I, 'CPU, all processes'),
          { op: '<=', value: 3 },
        ),
        ratioRow('bitsadmin peak RSS MiB', m(spec.tool, 'peak RSS'), { op: '<', value: 80 }),
      ];
      return { status: 'ok', measurements, ratios, notes };
    },
  };
}
