import { dashboardToken } from '../../api/dashboard-token.ts';
import { resolvePaths } from '../../api/paths.ts';
import type { DaemonStatus } from '../../api/schemas.ts';
import type { BitsManager } from '../bits-vocabulary.ts';
import type { CommandContext, CommandResult } from '../command.ts';
import { startDashboardProxy } from '../dashboard-proxy.ts';
import { expectArgs } from '../parse-values.ts';

/**
 * `/util /dashboard`: the dashboard's address with this user's token in its #fragment. When
 * bitsd serves the dashboard itself (policy `dashboard.listen`), print that address and return;
 * otherwise serve it here, on a free loopback port, through bitsd's socket, until Ctrl-C.
 */
export async function dashboardCommand(ctx: CommandContext, rest: readonly string[]): Promise<CommandResult | number> {
  expectArgs('util', rest, 0);
  const paths = resolvePaths(process.env);
  const manager = (await ctx.manager()) as BitsManager & { status?(): Promise<DaemonStatus> };
  const status = await manager.status?.();
  const token = dashboardToken(paths.stateDir);
  if (typeof status?.dashboardUrl === 'string') {
    const url = `${status.dashboardUrl}/#token=${token}`;
    return { text: `Dashboard: ${url}`, raw: url, json: { url, servedBy: 'bitsd' } };
  }
  const proxy = await startDashboardProxy({ socketPath: paths.socketPath, stateDir: paths.stateDir });
  try {
    ctx.print(`Dashboard: ${proxy.url}\n(served from here through bitsd's socket; Ctrl-C stops it)\n`);
    const signal = ctx.io.signal;
    await new Promise<void>((resolve) => {
      if (signal === undefined || signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await proxy.close();
  }
  return 0;
}
