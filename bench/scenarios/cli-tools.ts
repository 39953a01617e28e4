/**
 * What the CLI scenarios (S11–S14) share: running `bitsadmin` processes against the running
 * daemon and charging the daemon's CPU and peak RSS over the same span, and collecting samples
 * per tool and metric for the tables.
 */

import { abbreviate } from '../adapters/cli-command.ts';
import type { CliRoute } from '../adapters/ours.ts';
import { processCpuMs, processTreeHwmKiB, resetPeakRss, runTimed, type TimedRun } from '../lib/exec.ts';
import { measurement } from '../lib/ratio.ts';
import type { Measurement } from '../lib/types.ts';

/** What one CLI session (one or more bitsadmin processes in a row) cost. */
export interface CliSessionMeasure {
  /** From the first process's spawn to the last one's exit (pauses between them included). */
  readonly wallMs: number;
  /** user + system CPU of every bitsadmin process, summed. */
  readonly cliCpuMs: number;
  /** The daemon's utime + stime over the session (/proc/PID/stat before and after). */
  readonly daemonCpuMs: number;
  /** The largest peak RSS of one bitsadmin process (GNU time %M). */
  readonly cliPeakRssKiB: number;
  /** The daemon's VmHWM over the session (reset before it), its children included. */
  readonly daemonPeakRssKiB: number;
  /** How many bitsadmin processes ran. */
  readonly processes: number;
}

/** Runs one bitsadmin process of a session: arguments after the `bitsadmin` command. */
export type CliRunner = (args: readonly string[]) => Promise<TimedRun>;

/** CPU summed and peak RSS maxed over a session's processes. Pure. */
export function combineRuns(runs: readonly Pick<TimedRun, 'cpuMs' | 'maxRssKiB'>[]): {
  cliCpuMs: number;
  cliPeakRssKiB: number;
  processes: number;
} {
  return {
    cliCpuMs: runs.reduce((a, r) => a + r.cpuMs, 0),
    cliPeakRssKiB: runs.reduce((a, r) => Math.max(a, r.maxRssKiB), 0),
    processes: runs.length,
  };
}

/**
 * Time `body`, which runs bitsadmin processes (each pinned to `cpu` under GNU time, like every
 * peer) through the runner it is given, with the daemon's CPU and peak RSS over the same span.
 */
export async function cliSession(
  route: CliRoute,
  cpu: string,
  body: (cli: CliRunner) => Promise<void>,
): Promise<CliSessionMeasure> {
  const runs: TimedRun[] = [];
  const cli: CliRunner = async (args) => {
    const r = await runTimed([...route.argv, ...args], cpu, { cwd: route.cwd, env: route.env });
    runs.push(r);
    return r;
  };
  await resetPeakRss(route.daemonPid);
  const cpu0 = await processCpuMs(route.daemonPid);
  const started = performance.now();
  await body(cli);
  const wallMs = performance.now() - started;
  const daemonCpuMs = (await processCpuMs(route.daemonPid)) - cpu0;
  const daemonPeakRssKiB = await processTreeHwmKiB(route.daemonPid);
  if (!Number.isFinite(daemonCpuMs)) throw new Error(`bitsd (pid ${route.daemonPid}) is gone`);
  return { wallMs, daemonCpuMs, daemonPeakRssKiB, ...combineRuns(runs) };
}

/** One untimed `/list`: fills the CLI's compile cache as an installed CLI's earlier runs would have. */
export async function warmCli(route: CliRoute, cpu: string): Promise<void> {
  await runTimed([...route.argv, '/list'], cpu, { cwd: route.cwd, env: route.env });
}

/** The note every CLI scenario carries: the command line that stands for `bitsadmin`. */
export function cliNote(route: CliRoute, example: readonly string[]): string {
  const command = abbreviate([...route.argv, ...example], route.argv.length + 6);
  const build =
    route.env.OPENBITS_RUN_FROM === 'src' ? 'the TypeScript of src/' : 'the bundle dist/cli.cjs, as installed';
  const from = process.env.OPENBITS_BENCH_CLI ? 'OPENBITS_BENCH_CLI' : `Node ${process.version}, ${build}`;
  return `bitsadmin = \`${route.argv.join(' ')}\` (${from}), e.g. \`${command}\`; bitsd already running (started once for the suite) and pinned to the client CPU like the CLI and the peer; CPU of ours = every bitsadmin process + bitsd's /proc/PID/stat delta.`;
}

/** Samples per tool and metric, turned into Measurements in the order first seen. */
export class SampleTable {
  readonly #rows = new Map<
    string,
    { tool: string; metric: string; unit: string; better: 'higher' | 'lower'; values: number[] }
  >();

  /** Add one sample. */
  add(tool: string, metric: string, unit: string, better: 'higher' | 'lower', value: number): void {
    const key = `${tool}\u0000${metric}`;
    const row = this.#rows.get(key) ?? { tool, metric, unit, better, values: [] };
    row.values.push(value);
    this.#rows.set(key, row);
  }

  /** A CLI session's figures under `tool`: time, CPU (all, CLI, bitsd), peak RSS (CLI, bitsd), processes. */
  addSession(tool: string, m: CliSessionMeasure): void {
    this.add(tool, 'time', 's', 'lower', m.wallMs / 1000);
    this.add(tool, 'CPU, all processes', 's', 'lower', (m.cliCpuMs + m.daemonCpuMs) / 1000);
    this.add(tool, 'CPU bitsadmin', 's', 'lower', m.cliCpuMs / 1000);
    this.add(tool, 'CPU bitsd', 's', 'lower', m.daemonCpuMs / 1000);
    this.add(tool, 'peak RSS', 'MiB', 'lower', m.cliPeakRssKiB / 1024);
    this.add(tool, 'peak RSS bitsd', 'MiB', 'lower', m.daemonPeakRssKiB / 1024);
    this.add(tool, 'bitsadmin processes', 'count', 'lower', m.processes);
  }

  /** A peer's figures under `tool`: time, CPU, peak RSS. */
  addPeer(tool: string, r: Pick<TimedRun, 'wallMs' | 'cpuMs' | 'maxRssKiB'>): void {
    this.add(tool, 'time', 's', 'lower', r.wallMs / 1000);
    this.add(tool, 'CPU, all processes', 's', 'lower', r.cpuMs / 1000);
    this.add(tool, 'peak RSS', 'MiB', 'lower', r.maxRssKiB / 1024);
  }

  /** Every row with at least one sample. */
  measurements(): Measurement[] {
    return [...this.#rows.values()].map((r) => measurement(r.tool, r.metric, r.unit, r.better, r.values));
  }
}
