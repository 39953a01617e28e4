/**
 * The "ours" side of every comparison, as a pluggable adapter. `currentOurs()` returns the real
 * openbits (bench/adapters/ours-openbits.ts: bitsd + client) unless OPENBITS_BENCH_OURS=standin
 * picks the stand-in (undici stream() into a buffered file writer, NOT openbits).
 */
import { createOpenbitsAdapter } from './ours-openbits.ts';
import { createStandInAdapter } from './ours-standin.ts';

/** One file to fetch: source URL, destination path, expected size. */
export interface DownloadItem {
  readonly url: string;
  readonly dest: string;
  readonly size: number;
  /** Other URLs of the same file (S16). */
  readonly mirrors?: readonly string[];
  /** Whole-file digests to check the file against (S1D). */
  readonly digests?: ReadonlyArray<{ readonly algorithm: 'sha-256'; readonly value: string }>;
  /** Piece digests to check the file against (S16F). */
  readonly pieces?: { readonly algorithm: 'sha-256'; readonly length: number; readonly hashes: readonly string[] };
}

export interface DownloadOptions {
  /**
   * `one-job`: all items in one job, fetched in order (BITS semantics, used by S3).
   * `concurrent-jobs`: one job per item, all running at once (S4).
   */
  readonly mode: 'one-job' | 'concurrent-jobs';
  /** CPU list for `taskset -c` (the client side; nginx has CPU 0). */
  readonly cpu: string;
  /** Connections per file (segmented downloads); 1 when absent. */
  readonly maxConnections?: number;
}

/** What one download run cost. CPU and RSS must include every process of ours (daemon too). */
export interface DownloadMeasure {
  /** From the request (CLI start / createJob) to the last file being durable / TRANSFERRED. */
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Peak RSS of the whole process tree (VmHWM), KiB. */
  readonly peakRssKiB: number;
  /** Per item, ms from start to that item's last byte; same order as the items. */
  readonly perItemMs: readonly number[];
  /** Sources the transfer dropped, as `url: reason` (mirrors that failed or lied). */
  readonly dropped?: readonly string[];
}

/** S5: kill -9 ours at `killAtFraction` of the file, restart, let it finish. */
export interface KillResumeMeasure {
  /** Bytes in the destination (or temp) file when the process was killed. */
  readonly bytesOnDiskAtKill: number;
  /** The offset the restarted process resumed from (its last durable checkpoint). */
  readonly resumedFrom: number;
  /** From restart to the first byte of the resumed body. */
  readonly ttfbAfterRestartMs: number;
  /** From restart to done. */
  readonly resumeWallMs: number;
}

/** S6: a throttled download left running until the harness stops it. */
export interface RunningDownload {
  /** CPU ms used so far by every process of ours. */
  cpuMs(): Promise<number>;
  /** Stop the transfer (cancel the job / kill the client) and clean up. */
  stop(): Promise<void>;
}

/** S8 figures. */
export interface ApiMeasure {
  /** create + addfile + resume + cancel cycles per second, one after another over the socket. */
  readonly cyclesPerSecond: number;
  /** The daemon's CPU per such cycle, ms (load-independent). */
  readonly cycleCpuMs?: number;
  /** The same cycles from 16 client loops at once, and the daemon's CPU per cycle then. */
  readonly concurrentCyclesPerSecond?: number;
  readonly concurrentCycleCpuMs?: number;
  /** Latency of listing `listJobs` jobs, ms, and the daemon's CPU per list. */
  readonly listP50Ms: number;
  readonly listP99Ms: number;
  readonly listCpuMs?: number;
  /** The same jobs listed as summaries (what `bitsadmin /list` reads): p50, p99, daemon CPU per list. */
  readonly summaryP50Ms?: number;
  readonly summaryP99Ms?: number;
  readonly summaryCpuMs?: number;
  /** Cold start of the CLI (e.g. `bitsadmin /list`), ms. */
  readonly cliStartMs: number;
  /** The daemon's start: spawn → its first answered request, ms (a home it has started in before). */
  readonly daemonFirstReplyMs?: number;
}

/**
 * The installed CLI against the adapter's running daemon (S11–S14): what a user types, with
 * the daemon's pid beside it so a scenario can charge the daemon's CPU and memory too.
 */
export interface CliRoute {
  /** The command a user runs as `bitsadmin`, e.g. `[node, …/bin/bitsadmin.js]`; arguments follow. */
  readonly argv: readonly string[];
  /** Where the command runs (relative paths in `OPENBITS_BENCH_CLI` resolve here). */
  readonly cwd: string;
  /** Environment of every CLI process: it finds the running daemon and never starts one. */
  readonly env: NodeJS.ProcessEnv;
  /** The daemon's socket, for `curl --unix-socket`. */
  readonly socketPath: string;
  /** The running daemon: its CPU comes from /proc/PID/stat, its peak RSS from VmHWM. */
  readonly daemonPid: number;
}

/** The harness's view of "ours". Optional methods are capabilities; a missing one is reported as such. */
export interface OursAdapter {
  /** Printed in every table, e.g. "stand-in (undici stream, not openbits)". */
  readonly label: string;
  readonly isStandIn: boolean;
  /** The durable checkpoint spacing, bytes (S5's yardstick). */
  readonly checkpointIntervalBytes: number;
  /** Called once before the scenarios (start a daemon, make a home folder…). */
  setup(env: { readonly workDir: string; readonly cpu: string }): Promise<void>;
  teardown(): Promise<void>;
  /** Fetch `items` durably: fdatasync'd checkpoints and a durable end, like a finished BITS job. */
  download(items: readonly DownloadItem[], options: DownloadOptions): Promise<DownloadMeasure>;
  /** S6: start a download throttled to `bytesPerSecond` (URL may point at the counting proxy). */
  startThrottled?(item: DownloadItem, bytesPerSecond: number, cpu: string): Promise<RunningDownload>;
  /** S5. */
  killAndResume?(item: DownloadItem, killAtFraction: number, cpu: string): Promise<KillResumeMeasure>;
  /** S7: upload `path` with the BITS upload protocol to ours server; measured like a download. */
  upload?(path: string, size: number, cpu: string): Promise<DownloadMeasure>;
  /** S8. */
  api?(options: { readonly cycles: number; readonly listJobs: number; readonly cpu: string }): Promise<ApiMeasure>;
  /** S11–S14: the bitsadmin CLI against the daemon started by `setup`. */
  cli?(): CliRoute;
}

/** Adapters by name; `OPENBITS_BENCH_OURS` picks one (default below). Register the real one here. */
const ADAPTERS: Record<string, () => OursAdapter> = {
  openbits: createOpenbitsAdapter,
  standin: createStandInAdapter,
};

/** The default adapter: the real openbits (bitsd + client); `standin` stays selectable. */
export const DEFAULT_OURS = 'openbits';

/** The adapter the suite uses: `OPENBITS_BENCH_OURS` or the default. */
export function currentOurs(name = process.env.OPENBITS_BENCH_OURS ?? DEFAULT_OURS): OursAdapter {
  const make = ADAPTERS[name];
  if (!make)
    throw new Error(`OPENBITS_BENCH_OURS=${name}: unknown adapter (known: ${Object.keys(ADAPTERS).join(', ')})`);
  return make();
}
