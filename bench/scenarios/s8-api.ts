import { alternate, notAvailable, push, type Scenario } from '../lib/context.ts';
import { runTimed } from '../lib/exec.ts';
import { measurement, medianOf, ratioRow } from '../lib/ratio.ts';
import { OURS } from './download-tools.ts';

/**
 * S8: API rate (create + addfile + resume + cancel), /list latency with many jobs, CLI cold
 * start. The cycle target is read against the sequential figure (one client, one call after
 * another); the 16-loop figure beside it shows what concurrent callers get from the group commit.
 */
export const s8: Scenario = {
  id: 'S8',
  title: 'API rate, list latency and CLI start',
  async run(ctx) {
    const api = ctx.ours.api?.bind(ctx.ours);
    if (!api) return notAvailable('Not available yet: the adapter has no api capability.');
    const cycles = ctx.quick ? 1_000 : 10_000;
    const listJobs = ctx.quick ? 1_000 : 10_000;
    const notes = [
      `${cycles} create+addfile+resume+cancel cycles one after another (the target's reading), then ${cycles} from 16 client loops; list with ${listJobs} jobs: 30 lists of summaries (GET /v1/job-summaries, what \`bitsadmin /list\` reads; the first right after queueing), then 30 of whole jobs (GET /v1/jobs). CPU = bitsd's user+system per cycle / per list.`,
    ];
    const values = new Map<string, number[]>();
    const tools = [
      {
        tool: OURS,
        async run() {
          const m = await api({ cycles, listJobs, cpu: ctx.clientCpu });
          push(values, 'rate', m.cyclesPerSecond);
          if (m.cycleCpuMs !== undefined) push(values, 'cycleCpu', m.cycleCpuMs);
          if (m.concurrentCyclesPerSecond !== undefined) push(values, 'rate16', m.concurrentCyclesPerSecond);
          if (m.concurrentCycleCpuMs !== undefined) push(values, 'cycleCpu16', m.concurrentCycleCpuMs);
          if (m.listCpuMs !== undefined) push(values, 'listCpu', m.listCpuMs);
          push(values, 'p50', m.listP50Ms);
          push(values, 'p99', m.listP99Ms);
          if (m.summaryP50Ms !== undefined) push(values, 'sp50', m.summaryP50Ms);
          if (m.summaryP99Ms !== undefined) push(values, 'sp99', m.summaryP99Ms);
          if (m.summaryCpuMs !== undefined) push(values, 'summaryCpu', m.summaryCpuMs);
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
      measurement(OURS, 'create+addfile+resume+cancel rate', 'cycles/s', 'higher', get('rate')),
      measurement(OURS, 'bitsd CPU per cycle', 'ms', 'lower', get('cycleCpu')),
      measurement(OURS, 'cycle rate, 16 client loops', 'cycles/s', 'higher', get('rate16')),
      measurement(OURS, 'bitsd CPU per cycle, 16 loops', 'ms', 'lower', get('cycleCpu16')),
      measurement(OURS, `summary list p50 (${listJobs} jobs)`, 'ms', 'lower', get('sp50')),
      measurement(OURS, `summary list p99 (${listJobs} jobs)`, 'ms', 'lower', get('sp99')),
      measurement(OURS, `bitsd CPU per summary list (${listJobs} jobs)`, 'ms', 'lower', get('summaryCpu')),
      measurement(OURS, `list p50 (${listJobs} jobs)`, 'ms', 'lower', get('p50')),
      measurement(OURS, `list p99 (${listJobs} jobs)`, 'ms', 'lower', get('p99')),
      measurement(OURS, `bitsd CPU per list (${listJobs} jobs)`, 'ms', 'lower', get('listCpu')),
      measurement(OURS, 'CLI cold start', 'ms', 'lower', get('cli')),
      measurement(OURS, 'bitsd spawn → first answer', 'ms', 'lower', get('first')),
      measurement('node -e 0', 'cold start', 'ms', 'lower', get('node')),
    ];
    const ratios = [
      ratioRow('ours cycles/s (sequential)', medianOf(measurements, OURS, 'create+addfile+resume+cancel rate'), {
        op: '>=',
        value: 1000,
      }),
      ratioRow('ours cycles/s, 16 client loops', medianOf(measurements, OURS, 'cycle rate, 16 client loops')),
      ratioRow(
        `ours /list p99 ms (${listJobs} jobs as summaries, what bitsadmin /list reads)`,
        medianOf(measurements, OURS, `summary list p99 (${listJobs} jobs)`),
        { op: '<', value: 100 },
      ),
      ratioRow(
        `ours list p99 ms (${listJobs} whole jobs)`,
        medianOf(measurements, OURS, `list p99 (${listJobs} jobs)`),
      ),
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
