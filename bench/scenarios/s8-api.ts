import { alternate, notAvailable, push, type Scenario } from '../lib/context.ts';
import { runTimed } from '../lib/exec.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { OURS } from './download-tools.ts';

/** S8: API rate (create + addfile + cancel), /list latency with many jobs, CLI cold start. */
export const s8: Scenario = {
  id: 'S8',
  title: 'API rate, list latency and CLI start',
  async run(ctx) {
    const api = ctx.ours.api?.bind(ctx.ours);
    if (!api) return notAvailable('Not available yet: the adapter has no api capability.');
    const cycles = ctx.quick ? 1_000 : 10_000;
    const listJobs = ctx.quick ? 1_000 : 10_000;
    const notes = [`${cycles} create+addfile+cancel cycles; list with ${listJobs} jobs.`];
    const values = new Map<string, number[]>();
    const tools = [
      {
        tool: OURS,
        async run() {
          const m = await api({ cycles, listJobs, cpu: ctx.clientCpu });
          push(values, 'rate', m.cyclesPerSecond);
          push(values, 'p50', m.listP50Ms);
          push(values, 'p99', m.listP99Ms);
          push(values, 'cli', m.cliStartMs);
          if (m.daemonFirstReplyMs !== undefined) push(values, 'first', m.daemonFirstReplyMs);
        },
      },
      {
        tool: 'node -e 0',
        async run() {
          push(values, 'node', (await runTimed([process.execPath, '-e', '0'], ctx.clientCpu)).wallMs);
        },
      },
    ];
    await alternate(ctx.runs, tools, (t) => t.run(), notes, ctx.log);
    const get = (k: string) => values.get(k) ?? [];
    const measurements = [
      measurement(OURS, 'create+addfile+cancel rate', 'cycles/s', 'higher', get('rate')),
      measurement(OURS, `list p50 (${listJobs} jobs)`, 'ms', 'lower', get('p50')),
      measurement(OURS, `list p99 (${listJobs} jobs)`, 'ms', 'lower', get('p99')),
      measurement(OURS, 'CLI cold start', 'ms', 'lower', get('cli')),
      measurement(OURS, 'bitsd spawn → first answer', 'ms', 'lower', get('first')),
      measurement('node -e 0', 'cold start', 'ms', 'lower', get('node')),
    ];
    const ratios = [
      ratioRow('ours cycles/s', medianOf(measurements, OURS, 'create+addfile+cancel rate'), { op: '>=', value: 1000 }),
      ratioRow(`ours list p99 ms (${listJobs} jobs)`, medianOf(measurements, OURS, `list p99 (${listJobs} jobs)`), {
        op: '<',
        value: 250,
      }),
      ratioRow('ours bitsd first answer ms', medianOf(measurements, OURS, 'bitsd spawn → first answer'), {
        op: '<=',
        value: 300,
      }),
      ratioRow(
        'CLI start / node -e 0 start',
        medianOf(measurements, OURS, 'CLI cold start') / medianOf(measurements, 'node -e 0', 'cold start'),
      ),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
