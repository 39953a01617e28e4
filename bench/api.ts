/**
 * S8 (reference §4.5): the local API through the socket of a real bitsd.
 * - create + addfile + resume + cancel cycles: ops/s, p50/p99 per cycle, bitsd's CPU per cycle —
 *   one after another over one connection (the target's reading), and from 16 client loops at
 *   once (as `pgbench -c 16`: what a group commit can share);
 * - list (GET /v1/jobs) with N jobs: p50/p99 over repeated lists, bitsd's CPU per list;
 * - daemon RSS idle and with N queued jobs;
 * - CLI cold start (`bitsadmin /list`) next to `node -e 0`;
 * - the daemon's start: spawn → first answered request (GET /v1/jobs), in a home it has started
 *   in once before (its compile cache warm, as for any start but the very first).
 *
 * `node bench/api.ts [--cycles 10000] [--jobs 10000] [--repeats 30] [--cpu 1] [--json]`
 * prints a table (and one JSON object with --json). `measureApi()` is what the suite calls.
 * Quotas: the daemon gets a config.json raising the per-user and per-machine job limits, so a
 * non-root user can queue 10,000 jobs too (root is exempt anyway).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BitsClient, connect } from '../src/client/connect.ts';
import { statCpuMs } from './lib/exec.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BITSD = join(REPO, 'bin', 'bitsd.js');
const BITSADMIN = join(REPO, 'bin', 'bitsadmin.js');

export interface ApiBenchOptions {
  readonly cycles: number;
  readonly listJobs: number;
  /** Lists timed for the percentiles (default 30). */
  readonly listRepeats?: number;
  /** Cold starts timed for the medians (default 10). */
  readonly startRepeats?: number;
  /** Pin the daemon and the CLI to this CPU (taskset -c). */
  readonly cpu?: string;
  /** OPENBITS_RUN_FROM for bitsd and the CLI: 'dist' runs them as installed (bundles); default inherited. */
  readonly runFrom?: 'src' | 'dist';
  readonly log?: (line: string) => void;
}

/** Every S8 figure; the first four are the suite's ApiMeasure. */
export interface ApiBenchResult {
  readonly cyclesPerSecond: number;
  readonly listP50Ms: number;
  readonly listP99Ms: number;
  /** The same jobs as summaries (enumJobSummaries, what `bitsadmin /list` reads), timed first. */
  readonly summaryP50Ms: number;
  readonly summaryP99Ms: number;
  readonly summaryCpuMs: number;
  readonly summaryFirstMs: number;
  readonly cliStartMs: number;
  /** bitsd spawned → its first answered request, ms. */
  readonly daemonFirstReplyMs: number;
  readonly cycleP50Ms: number;
  readonly cycleP99Ms: number;
  /** bitsd's CPU (user + system) per sequential cycle, ms: the load-independent yardstick. */
  readonly cycleCpuMs: number;
  /** The same cycles from CONCURRENT_LOOPS client loops at once. */
  readonly concurrentCyclesPerSecond: number;
  readonly concurrentCycleCpuMs: number;
  /** bitsd's CPU per list of `listJobs` jobs, ms. */
  readonly listCpuMs: number;
  /** The first of those lists (right after the jobs were queued: every record new), ms. */
  readonly listFirstMs: number;
  /** bitsd's CPU for that first list, ms (the rest of its wall is the client's parse and the load). */
  readonly listFirstCpuMs: number;
  readonly nodeStartMs: number;
  readonly rssIdleMiB: number;
  readonly rssQueuedMiB: number;
  readonly cycles: number;
  readonly listJobs: number;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

const pinned = (cpu: string | undefined, argv: string[]): [string, string[]] =>
  cpu === undefined ? [argv[0] as string, argv.slice(1)] : ['taskset', ['-c', cpu, ...argv]];

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/u.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN) / 1024;
}

/** Spawn bitsd, then ask GET /v1/jobs until it answers: the daemon and ms from spawn to that answer. */
async function startBitsdTimed(
  home: string,
  cpu: string | undefined,
  runFrom: ApiBenchOptions['runFrom'],
): Promise<{ daemon: ChildProcess; ms: number }> {
  const started = performance.now();
  const daemon = await startBitsd(home, cpu, runFrom);
  const client = connect({ socketPath: join(home, 'bitsd.sock'), autoStart: false, timeoutMs: 120_000 });
  try {
    await client.enumJobs();
    return { daemon, ms: performance.now() - started };
  } finally {
    await client.close();
  }
}

/** OPENBITS_RUN_FROM when the caller chose where bitsd and the CLI run from. */
function runFromEnv(runFrom: ApiBenchOptions['runFrom']): NodeJS.ProcessEnv {
  return runFrom === undefined ? {} : { OPENBITS_RUN_FROM: runFrom };
}

async function stopBitsd(daemon: ChildProcess): Promise<void> {
  daemon.kill('SIGTERM');
  await once(daemon, 'exit');
}

async function startBitsd(
  home: string,
  cpu: string | undefined,
  runFrom: ApiBenchOptions['runFrom'],
): Promise<ChildProcess> {
  const [cmd, args] = pinned(cpu, [process.execPath, BITSD]);
  const child = spawn(cmd, args, {
    env: { ...process.env, ...runFromEnv(runFrom), OPENBITS_HOME: home, OPENBITS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    let listening = false;
    child.stderr?.on('data', (chunk: string) => {
      // Drained to the end, kept only until the start: bitsd logs a line per job state, and
      // scanning the whole log again for every chunk cost the bench's own CPU O(lines²).
      if (listening) return;
      log += chunk;
      if (log.includes('bitsd is listening')) {
        listening = true;
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`bitsd exited (${code}):\n${log}`)));
  });
  return child;
}

/** Wall time of one process run from spawn to exit, ms. */
async function timeRun(argv: string[], env: NodeJS.ProcessEnv, cpu: string | undefined): Promise<number> {
  const [cmd, args] = pinned(cpu, argv);
  const started = performance.now();
  const child = spawn(cmd, args, { env, stdio: 'ignore' });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}`);
  return performance.now() - started;
}

async function medianRun(n: number, argv: string[], env: NodeJS.ProcessEnv, cpu: string | undefined) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await timeRun(argv, env, cpu));
  return percentile(times, 0.5);
}

/** A TCP server that accepts and never answers: the one running job hangs, the rest stay QUEUED. */
async function blackHole(): Promise<{ server: Server; url: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}/never.bin`, sockets };
}

/** Client loops of the concurrent cycle figure (pgbench -c 16). */
export const CONCURRENT_LOOPS = 16;

/** utime + stime of a live process so far, ms. */
const cpuMs = (pid: number): number => statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** create + addfile + resume + cancel, `n` times in each client's loop (all loops at once). */
async function cyclesBench(clients: readonly BitsClient[], home: string, n: number, pid: number, tag: string) {
  const times: number[] = [];
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const job = await client.createJob(`cycle-${tag}${c}-${i}`);
        await client.addFile(job.id, 'http://127.0.0.1:9/never.bin', join(home, `cycle-${tag}${c}-${i}.bin`));
        await client.resume(job.id);
        await client.cancel(job.id);
        times.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const total = n * clients.length;
  return {
    perSecond: total / seconds,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    cpuMs: (cpuMs(pid) - cpuBefore) / total,
  };
}

/** Run S8 against a fresh bitsd in a temp home. */
export async function measureApi(options: ApiBenchOptions): Promise<ApiBenchResult> {
  const log = options.log ?? (() => {});
  const home = mkdtempSync(join(tmpdir(), 'openbits-bench-api-'));
  const quotas = { maxJobsPerUser: options.listJobs * 2 + 100, maxJobsPerMachine: options.listJobs * 2 + 100 };
  writeFileSync(join(home, 'config.json'), JSON.stringify({ quotas }));
  // The first start in a fresh home fills the compile cache; time the second, as any later start.
  await stopBitsd((await startBitsdTimed(home, options.cpu, options.runFrom)).daemon);
  const { daemon, ms: daemonFirstReplyMs } = await startBitsdTimed(home, options.cpu, options.runFrom);
  const pid = daemon.pid as number;
  const client = connect({ socketPath: join(home, 'bitsd.sock'), autoStart: false, timeoutMs: 120_000 });
  const hole = await blackHole();
  try {
    for (let i = 0; i < 50; i++) await client.enumJobs(); // warm the JIT and the connection
    const rssIdleMiB = rssMiB(pid);

    const env = { ...process.env, ...runFromEnv(options.runFrom), OPENBITS_HOME: home, OPENBITS_NO_AUTOSTART: '1' };
    const startRepeats = options.startRepeats ?? 10;
    log(`cold starts ×${startRepeats}`);
    const nodeStartMs = await medianRun(startRepeats, [process.execPath, '-e', '0'], env, options.cpu);
    const cliStartMs = await medianRun(startRepeats, [process.execPath, BITSADMIN, '/list'], env, options.cpu);

    log(`${options.cycles} create+addfile+resume+cancel cycles, one after another`);
    const cycles = await cyclesBench([client], home, options.cycles, pid, 's');
    log(`${options.cycles} cycles from ${CONCURRENT_LOOPS} client loops`);
    const loops = Array.from({ length: CONCURRENT_LOOPS }, () =>
      connect({ socketPath: join(home, 'bitsd.sock'), autoStart: false, timeoutMs: 120_000 }),
    );
    const concurrent = await cyclesBench(loops, home, Math.ceil(options.cycles / CONCURRENT_LOOPS), pid, 'c').finally(
      () => Promise.all(loops.map((c) => c.close())),
    );

    log(`queueing ${options.listJobs} jobs`);
    for (let i = 0; i < options.listJobs; i++) {
      const job = await client.createJob(`queued-${i}`);
      await client.addFile(job.id, hole.url, join(home, `queued-${i}.bin`));
      await client.resume(job.id);
    }
    const repeats = options.listRepeats ?? 30;
    // Summaries first (what `bitsadmin /list` reads, the target's reading): their first list is the
    // one right after queueing. The whole-job lists after them are context.
    log(`summary list ×${repeats}`);
    const summaries: number[] = [];
    const summaryCpuBefore = cpuMs(pid);
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      const jobs = await client.enumJobSummaries();
      summaries.push(performance.now() - t);
      if (jobs.length < options.listJobs) throw new Error(`listed ${jobs.length} of ${options.listJobs} jobs`);
    }
    const summaryCpuMs = (cpuMs(pid) - summaryCpuBefore) / repeats;
    log(`list ×${repeats}`);
    const lists: number[] = [];
    const listCpuBefore = cpuMs(pid);
    let listFirstCpuMs = Number.NaN;
    for (let i = 0; i < repeats; i++) {
      const t = performance.now();
      const jobs = await client.enumJobs();
      lists.push(performance.now() - t);
      if (i === 0) listFirstCpuMs = cpuMs(pid) - listCpuBefore;
      if (jobs.length < options.listJobs) throw new Error(`listed ${jobs.length} of ${options.listJobs} jobs`);
    }
    const listCpuMs = (cpuMs(pid) - listCpuBefore) / repeats;
    const rssQueuedMiB = rssMiB(pid);
    return {
      cyclesPerSecond: cycles.perSecond,
      listP50Ms: percentile(lists, 0.5),
      listP99Ms: percentile(lists, 0.99),
      summaryP50Ms: percentile(summaries, 0.5),
      summaryP99Ms: percentile(summaries, 0.99),
      summaryCpuMs,
      summaryFirstMs: summaries[0] ?? Number.NaN,
      cliStartMs,
      daemonFirstReplyMs,
      cycleP50Ms: cycles.p50,
      cycleP99Ms: cycles.p99,
      cycleCpuMs: cycles.cpuMs,
      concurrentCyclesPerSecond: concurrent.perSecond,
      concurrentCycleCpuMs: concurrent.cpuMs,
      listCpuMs,
      listFirstMs: lists[0] ?? Number.NaN,
      listFirstCpuMs,
      nodeStartMs,
      rssIdleMiB,
      rssQueuedMiB,
      cycles: options.cycles,
      listJobs: options.listJobs,
    };
  } finally {
    await client.close();
    await stopBitsd(daemon);
    for (const s of hole.sockets) s.destroy();
    hole.server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

function table(r: ApiBenchResult): string {
  const rows: Array<[string, string]> = [
    [`create+addfile+resume+cancel ×${r.cycles}`, `${r.cyclesPerSecond.toFixed(0)} cycles/s`],
    ['  per cycle p50 / p99', `${r.cycleP50Ms.toFixed(2)} / ${r.cycleP99Ms.toFixed(2)} ms`],
    ['  bitsd CPU per cycle', `${r.cycleCpuMs.toFixed(2)} ms`],
    [`  from ${CONCURRENT_LOOPS} client loops`, `${r.concurrentCyclesPerSecond.toFixed(0)} cycles/s`],
    ['  bitsd CPU per cycle, concurrent', `${r.concurrentCycleCpuMs.toFixed(2)} ms`],
    [`summary list of ${r.listJobs} jobs p50 / p99`, `${r.summaryP50Ms.toFixed(1)} / ${r.summaryP99Ms.toFixed(1)} ms`],
    ['  bitsd CPU per summary list', `${r.summaryCpuMs.toFixed(1)} ms`],
    ['  the first summary list after queueing', `${r.summaryFirstMs.toFixed(1)} ms`],
    [`list with ${r.listJobs} jobs p50 / p99`, `${r.listP50Ms.toFixed(1)} / ${r.listP99Ms.toFixed(1)} ms`],
    ['  bitsd CPU per list', `${r.listCpuMs.toFixed(1)} ms`],
    ['  the first list after queueing', `${r.listFirstMs.toFixed(1)} ms (bitsd CPU ${r.listFirstCpuMs.toFixed(0)} ms)`],
    ['daemon RSS idle', `${r.rssIdleMiB.toFixed(1)} MiB`],
    [`daemon RSS with ${r.listJobs} queued jobs`, `${r.rssQueuedMiB.toFixed(1)} MiB`],
    ['CLI cold start (bitsadmin /list)', `${r.cliStartMs.toFixed(0)} ms`],
    ['bitsd spawn → first answer', `${r.daemonFirstReplyMs.toFixed(0)} ms`],
    ['node -e 0', `${r.nodeStartMs.toFixed(0)} ms`],
    ['CLI start / node start', `${(r.cliStartMs / r.nodeStartMs).toFixed(2)}×`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i === -1 ? fallback : Number(process.argv[i + 1]);
  };
  const cpuAt = process.argv.indexOf('--cpu');
  const result = await measureApi({
    cycles: arg('cycles', 10_000),
    listJobs: arg('jobs', 10_000),
    listRepeats: arg('repeats', 30),
    ...(cpuAt === -1 ? {} : { cpu: process.argv[cpuAt + 1] as string }),
    log: (line) => process.stderr.write(`[bench api] ${line}\n`),
  });
  process.stdout.write(`${table(result)}\n`);
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
}
