import { join } from 'node:path';
import { parseCreatedJob } from '../adapters/cli-command.ts';
import { alternate, notAvailable, type Scenario } from '../lib/context.ts';
import { runTimed } from '../lib/exec.ts';
import { medianOf, ratioRow } from '../lib/ratio.ts';
import { cliNote, cliSession, SampleTable, warmCli } from './cli-tools.ts';

/** Start-up figures are small and noisy: at least this many rounds. */
export const MIN_ROUNDS = 10;
const LIST = 'bitsadmin /list';
const INFO = 'bitsadmin /info JOB';
const CURL = 'curl --unix-socket …/v1/jobs';

/** S14: `bitsadmin /list` and `/info JOB` on an idle daemon vs `curl --unix-socket SOCK http://x/v1/jobs`. */
export const s14: Scenario = {
  id: 'S14',
  title: 'CLI: bitsadmin /list and /info on an idle daemon',
  async run(ctx) {
    const route = ctx.ours.cli?.();
    if (!route) return notAvailable('Not available yet: the adapter has no cli capability.');
    const cli = (args: readonly string[]) =>
      runTimed([...route.argv, ...args], ctx.clientCpu, { cwd: route.cwd, env: route.env });
    await warmCli(route, ctx.clientCpu);
    // One suspended job with one file: what /list lists and /info shows.
    const job = parseCreatedJob((await cli(['/rawreturn', '/create', 'bench-idle'])).stdout);
    const rounds = Math.max(ctx.runs, MIN_ROUNDS);
    const curl = ['curl', '-s', '-f', '--unix-socket', route.socketPath, 'http://x/v1/jobs'];
    const notes = [
      `The daemon idle with one suspended job (one file); ${rounds} rounds. \`bitsadmin /list\`, \`bitsadmin /info ${job}\` and \`${curl.join(' ')}\`, each timed from spawn to exit.`,
      cliNote(route, ['/info', job]),
    ];
    const table = new SampleTable();
    try {
      await cli(['/addfile', job, ctx.url(ctx.corpus.small[0] ?? ctx.corpus.big), join(ctx.ws.tmpDest, 'idle.bin')]);
      const tools = [
        {
          tool: LIST,
          run: async () =>
            table.addSession(LIST, await cliSession(route, ctx.clientCpu, (c) => c(['/list']).then(() => {}))),
        },
        {
          tool: INFO,
          run: async () =>
            table.addSession(INFO, await cliSession(route, ctx.clientCpu, (c) => c(['/info', job]).then(() => {}))),
        },
        ...(ctx.has('curl')
          ? [{ tool: CURL, run: async () => table.addPeer(CURL, await runTimed(curl, ctx.clientCpu)) }]
          : []),
      ];
      await alternate(rounds, tools, (t) => t.run(), notes, ctx.log);
    } finally {
      await cli(['/cancel', job]).catch(() => undefined);
    }
    const measurements = table.measurements();
    const m = (tool: string, metric: string) => medianOf(measurements, tool, metric);
    const ratios = [
      ratioRow('bitsadmin /list time s', m(LIST, 'time'), { op: '<=', value: 0.15 }),
      ratioRow('bitsadmin /info time s', m(INFO, 'time'), { op: '<=', value: 0.15 }),
      ratioRow('time bitsadmin /list / curl --unix-socket', m(LIST, 'time') / m(CURL, 'time')),
      ratioRow('bitsadmin /list peak RSS MiB', m(LIST, 'peak RSS'), { op: '<', value: 80 }),
      ratioRow('bitsadmin /info peak RSS MiB', m(INFO, 'peak RSS'), { op: '<', value: 80 }),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
