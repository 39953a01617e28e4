import { resolvePaths } from '../../api/paths.ts';
import type { DaemonStatus } from '../../api/schemas.ts';
import type { BitsManager } from '../bits-vocabulary.ts';
import type { CommandContext, CommandResult } from '../command.ts';
import { expectArgs } from '../parse-values.ts';

/** Where the dashboard switch reads and writes (both CLIs bind it to their own I/O). */
export interface DashboardIo {
  /** `socketPath`: the socket it talks to (the system bitsd's socket of this user with --system). */
  readonly manager: BitsManager & { status?(): Promise<DaemonStatus>; readonly socketPath?: string };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal | undefined;
  print(text: string): void;
}

/**
 * The dashboard's address with this user's token in its #fragment. When bitsd serves the
 * dashboard itself (policy `dashboard.listen`), that address is returned at once; otherwise the
 * dashboard is served here, on a free loopback port, through bitsd's socket: the address is
 * printed and this waits for Ctrl-C (`signal`).
 */
export async function openDashboard(io: DashboardIo): Promise<{ url: string; servedBy: 'bitsd' | 'this command' }> {
  const paths = resolvePaths(io.env);
  const status = await io.manager.status?.();
  // Loaded here, as the proxy below: node:crypto is a large load that no other switch needs.
  const { dashboardToken } = await import('../../api/dashboard-token.ts');
  const token = dashboardToken(paths.stateDir);
  if (typeof status?.dashboardUrl === 'string')
    return { url: `${status.dashboardUrl}/#token=${token}`, servedBy: 'bitsd' };
  // Loaded here: the proxy pulls in undici and Hono, which no other switch needs at start-up.
  const { startDashboardProxy } = await import('../dashboard-proxy.ts');
  // The manager's own socket: with the system bitsd, this user's socket there, so the page sees
  // what this user may see (their own jobs; every job for an administrator), nothing more.
  const socketPath = io.manager.socketPath ?? paths.socketPath;
  const proxy = await startDashboardProxy({ socketPath, stateDir: paths.stateDir });
  try {
    io.print(`Dashboard: ${proxy.url}\n(served from here through bitsd's socket; Ctrl-C stops it)\n`);
    const signal = io.signal;
    await new Promise<void>((resolve) => {
      if (signal === undefined || signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await proxy.close();
  }
  return { url: proxy.url, servedBy: 'this command' };
}

/** `bitsadmin /util /dashboard`. */
export async function dashboardCommand(ctx: CommandContext, rest: readonly string[]): Promise<CommandResult | number> {
  expectArgs('util', rest, 0);
  const opened = await openDashboard({
    manager: await ctx.manager(),
    env: process.env,
    signal: ctx.io.signal,
    print: (text) => ctx.print(text),
  });
  if (opened.servedBy === 'this command') return 0;
  return { text: `Dashboard: ${opened.url}`, raw: opened.url, json: opened };
}
