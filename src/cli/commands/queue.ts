import { formatJobId, type JobInfo, type JobSummary } from '../bits-vocabulary.ts';
import type { Command, CommandContext } from '../command.ts';
import { listLine, verboseInfo } from '../format-job.ts';
import { expectArgs, isSwitchToken, unknownSwitch } from '../parse-values.ts';
import { resolveJob } from './job-context.ts';

/** Splits switches such as `/allusers` and `/verbose` (any of / - --, any case) out of the arguments. */
export function takeSwitches(
  command: string,
  args: readonly string[],
  allowed: readonly string[],
): { switches: Set<string>; rest: string[] } {
  const switches = new Set<string>();
  const rest: string[] = [];
  for (const a of args) {
    const s = a.toLowerCase().replace(/^(--|-|\/)/u, '');
    if (a !== s && allowed.includes(s)) switches.add(s);
    else if (isSwitchToken(a)) throw unknownSwitch(a, command);
    else rest.push(a);
  }
  return { switches, rest };
}

/** The verbose blocks of several jobs, separated by blank lines. */
function verboseBlocks(jobs: readonly JobInfo[]): string[] {
  return jobs.flatMap((j, i) => [...(i === 0 ? [] : ['']), ...verboseInfo(j)]);
}

/** The jobs of the caller (or of all users), whole. */
export async function listJobs(ctx: CommandContext, allUsers: boolean): Promise<JobInfo[]> {
  const manager = await ctx.manager();
  return manager.enumJobs(allUsers ? { allUsers: true } : {});
}

/**
 * The jobs of the caller (or of all users) as summaries: all a list line or a cancel needs, a
 * tenth of the bytes of whole jobs (JSON output and /verbose still show whole jobs).
 */
export async function listSummaries(ctx: CommandContext, allUsers: boolean): Promise<JobSummary[]> {
  const manager = await ctx.manager();
  return manager.enumJobSummaries(allUsers ? { allUsers: true } : {});
}

/** /list's reply: its lines (a line per job, or the /verbose blocks), the count, the JSON. */
function listReply(lines: readonly string[], count: number, jobs: readonly JobInfo[] | null) {
  const summary = `${lines.length > 0 ? '\n\n' : ''}Listed ${count} job(s).`;
  return { text: `${lines.join('\n')}${summary}`, raw: lines.join('\n'), json: jobs };
}

/** Switches over the whole queue: /list, /info, /reset. */
export const queueCommands: readonly Command[] = [
  {
    name: 'list',
    syntax: '/list [/allusers] [/verbose]',
    summary: 'List the jobs',
    async run(ctx) {
      const { switches, rest } = takeSwitches('list', ctx.args, ['allusers', 'verbose']);
      expectArgs('list', rest, 0);
      const all = switches.has('allusers');
      if (switches.has('verbose') || ctx.mode === 'json') {
        const jobs = await listJobs(ctx, all);
        const lines = switches.has('verbose') ? verboseBlocks(jobs) : jobs.map(listLine);
        return listReply(lines, jobs.length, jobs);
      }
      const jobs = await listSummaries(ctx, all);
      return listReply(jobs.map(listLine), jobs.length, null);
    },
  },
  {
    name: 'info',
    syntax: '/info <job> [/verbose]',
    summary: 'Display information about the job',
    async run(ctx) {
      const { switches, rest } = takeSwitches('info', ctx.args, ['verbose']);
      expectArgs('info', rest, 1);
      // The file list shows only in /verbose and --json.
      const files = switches.has('verbose') || ctx.mode === 'json';
      const { job } = await resolveJob({ ...ctx, args: rest }, 0, { files });
      const text = switches.has('verbose') ? verboseInfo(job).join('\n') : listLine(job);
      return { text, raw: text, json: job };
    },
  },
  {
    name: 'reset',
    syntax: '/reset [/allusers]',
    summary: 'Cancel every job (of all users with /allusers)',
    async run(ctx) {
      const { switches, rest } = takeSwitches('reset', ctx.args, ['allusers']);
      expectArgs('reset', rest, 0);
      const manager = await ctx.manager();
      const jobs = await listSummaries(ctx, switches.has('allusers'));
      const lines: string[] = [];
      const canceled: string[] = [];
      const failed: Array<{ jobId: string; error: string }> = [];
      for (const job of jobs) {
        try {
          await manager.cancel(job.id);
          canceled.push(job.id);
          lines.push(`${formatJobId(job.id)} canceled.`);
        } catch (err) {
          const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          failed.push({ jobId: job.id, error: message });
          lines.push(`${formatJobId(job.id)} could not be canceled: ${message}`);
        }
      }
      lines.push(`${canceled.length} out of ${jobs.length} jobs canceled.`);
      return {
        text: lines.join('\n'),
        raw: canceled.map(formatJobId).join('\n'),
        json: { canceled, failed, total: jobs.length },
        exitCode: failed.length === 0 ? 0 : 1,
      };
    },
  },
];
