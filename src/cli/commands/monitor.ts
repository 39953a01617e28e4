import type { Command, CommandContext } from '../command.ts';
import { listLine } from '../format-job.ts';
import { parseCount } from '../parse-values.ts';
import { sleep as realSleep } from '../sleep.ts';
import { UsageError } from '../usage-error.ts';
import { listJobs, listSummaries } from './queue.ts';

/** Clear the screen and put the cursor home (ANSI). */
const CLEAR_SCREEN = '\x1b[2J\x1b[H';

function parseMonitorArgs(args: readonly string[]): { allUsers: boolean; refreshSeconds: number } {
  let allUsers = false;
  let refreshSeconds = 5;
  for (let i = 0; i < args.length; i++) {
    const a = (args[i] ?? '').toLowerCase().replace(/^(--|-|\/)/u, '/');
    if (a === '/allusers') allUsers = true;
    else if (a === '/refresh') {
      const v = args[++i];
      if (v === undefined) throw new UsageError('/refresh needs a number of seconds', 'monitor');
      refreshSeconds = parseCount('monitor', v, 'refresh');
      if (refreshSeconds === 0) throw new UsageError('refresh must be at least 1 second', 'monitor');
    } else throw new UsageError(`unexpected argument: ${args[i]}`, 'monitor');
  }
  return { allUsers, refreshSeconds };
}

function fit(line: string, columns: number | undefined): string {
  return columns !== undefined && line.length > columns ? line.slice(0, columns) : line;
}

/** One screen (TTY) or snapshot (pipe) of the queue. */
async function snapshot(ctx: CommandContext, allUsers: boolean, refreshSeconds: number): Promise<void> {
  const out = ctx.io.stdout;
  if (ctx.mode === 'json') {
    out.write(`${JSON.stringify(await listJobs(ctx, allUsers))}\n`);
    return;
  }
  const lines = (await listSummaries(ctx, allUsers)).map(listLine);
  if (ctx.mode === 'raw') {
    out.write(`${lines.join('\n')}\n\n`);
    return;
  }
  const header = `MONITORING BACKGROUND COPY MANAGER(${refreshSeconds} second refresh)`;
  if (ctx.io.isTTY) {
    const rows = [header, ...lines].map((l) => fit(l, ctx.io.columns));
    out.write(`${CLEAR_SCREEN}${rows.join('\n')}\n`);
  } else out.write(`${[header, ...lines].join('\n')}\n\n`);
}

/** /monitor: the job list, redrawn every refresh until interrupted. */
export const monitorCommand: Command = {
  name: 'monitor',
  syntax: '/monitor [/allusers] [/refresh <seconds>]',
  summary: 'Show the job list every few seconds (default 5) until Ctrl-C',
  async run(ctx) {
    const { allUsers, refreshSeconds } = parseMonitorArgs(ctx.args);
    const sleep = ctx.io.sleep ?? realSleep;
    const signal = ctx.io.signal;
    while (signal?.aborted !== true) {
      await snapshot(ctx, allUsers, refreshSeconds);
      await sleep(refreshSeconds * 1000, signal);
    }
    return 0;
  },
};
