/**
 * The real openbits as "ours": the daemon + client route users run. One `bitsd` (pinned to the
 * client CPU, OPENBITS_HOME in the work folder, a config.json raising the quotas) lives for the
 * whole suite; each download runs bench/adapters/openbits-client.ts in its own pinned process,
 * which drives the job through `connect()` and reports createJob → Complete.
 *
 * Figures: wall = createJob → last Complete (Complete publishes the file, as curl's exit does);
 * CPU = client CPU in that window + bitsd CPU over the run; peak RSS = bitsd's VmHWM (reset
 * before each run; the client's own peak is logged at teardown). Jobs run at FOREGROUND priority (what `bitsadmin /transfer /priority
 * foreground` does: an interactive transfer, never held back by background scheduling or policy
 * throttling); the config also sets `maxBackgroundJobs: 8` so the scheduler bench's NORMAL jobs
 * may run eight at a time.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { type BitsClient, connect } from '../../src/client/connect.ts';
import type { JobType } from '../../src/core/job-state.ts';
import { readBootId } from '../../src/service/boot-id.ts';
import { measureApi } from '../api.ts';
import { processCpuMs, processTreeHwmKiB, resetPeakRss, runTimed, sleep } from '../lib/exec.ts';
import { cliCommand } from './cli-command.ts';
import type { OpenbitsClientReport, OpenbitsClientSpec } from './openbits-client.ts';
import type {
  CliRoute,
  DownloadItem,
  DownloadMeasure,
  KillResumeMeasure,
  OursAdapter,
  RunningDownload,
} from './ours.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BITSD = join(REPO, 'bin', 'bitsd.js');
const UPLOAD_SERVER = join(REPO, 'bin', 'bits-upload-server.js');
const CLIENT = join(REPO, 'bench', 'adapters', 'openbits-client.ts');
const BITSADMIN = join(REPO, 'bin', 'bitsadmin.js');
/**
 * Which build bitsd and `bin/bitsadmin.js` run: by default `dist`, what an installed package runs
 * (the JavaScript of dist/ and the one-file CLI bundle dist/cli.cjs, built by setup() with
 * `npm run build`); OPENBITS_BENCH_CLI_FROM=src runs the checkout's TypeScript, type-stripped by
 * Node (whose stripper alone adds ~30 MiB to bitsd's RSS on a cold compile cache).
 */
const CLI_FROM = process.env.OPENBITS_BENCH_CLI_FROM === 'src' ? 'src' : 'dist';
const MiB = 1024 * 1024;
/** The daemon's default checkpoint spacing (docs/scheduling.md `checkpointBytes`). */
const CHECKPOINT_BYTES = 32 * MiB;

/** The config.json the bench daemon runs with. */
export function benchConfig(): Record<string, unknown> {
  return {
    quotas: { maxJobsPerUser: 30_000, maxJobsPerMachine: 30_000, maxFilesPerJob: 5_000 },
    maxBackgroundJobs: 8,
  };
}

/** `npm run build`: dist/ as the package ships it (the daemon's JavaScript and the CLI bundle). */
function buildPackage(): void {
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.ts')], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** A bitsd in `home`, pinned to `cpu`; resolves once its socket answers. */
export async function startBitsd(
  home: string,
  cpu: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; client: BitsClient }> {
  const child = spawn('taskset', ['-c', cpu, process.execPath, BITSD], {
    env: { ...process.env, OPENBITS_HOME: home, OPENBITS_RUN_FROM: CLI_FROM, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log = (log + d).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const client = connect({ socketPath: join(home, 'bitsd.sock'), autoStart: false, timeoutMs: 600_000 });
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`bitsd exited at start:\n${log}`);
    try {
      await client.status();
      return { child, client };
    } catch (error) {
      if (i > 3000) throw error;
      await sleep(10);
    }
  }
}

/** Stop a bitsd: SIGTERM (or SIGKILL) and wait for it to exit. */
async function stopBitsd(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** Create the openbits adapter; `home` is the daemon's state folder (default bench/work/openbits-home, on disk). */
export function createOpenbitsAdapter(options: { readonly home?: string } = {}): OursAdapter {
  let workDir = '';
  let home = '';
  let cpu = '1';
  let seq = 0;
  let daemon: ChildProcess | undefined;
  let client: BitsClient | undefined;
  let uploader: ChildProcess | undefined;
  let uploadBase = '';
  let clientPeakRssKiB = 0;
  // Uploads land beside the home, on disk (bench/work/openbits-up by default).
  const upRoot = () => join(dirname(home), 'openbits-up');

  const start = async () => {
    const started = await startBitsd(home, cpu);
    daemon = started.child;
    client = started.client;
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    await client?.close().catch(() => {});
    if (daemon) await stopBitsd(daemon, signal);
    client = undefined;
    daemon = undefined;
  };
  const daemonPid = () => {
    if (!daemon?.pid) throw new Error('bitsd is not running');
    return daemon.pid;
  };
  const api = () => {
    if (!client) throw new Error('bitsd is not running');
    return client;
  };

  /** Run one client process over `items` and add the daemon's CPU and RSS. */
  const run = async (
    items: readonly DownloadItem[],
    mode: OpenbitsClientSpec['mode'],
    type: JobType,
    runCpu: string,
    maxConnections = 1,
  ): Promise<DownloadMeasure> => {
    const pid = daemonPid();
    const spec: OpenbitsClientSpec = {
      socketPath: join(home, 'bitsd.sock'),
      items: items.map((i) => ({
        url: i.url,
        dest: i.dest,
        ...(i.mirrors === undefined ? {} : { mirrors: i.mirrors }),
        ...(i.digests === undefined ? {} : { digests: i.digests }),
        ...(i.pieces === undefined ? {} : { pieces: i.pieces }),
      })),
      mode,
      type,
      priority: 'FOREGROUND',
      maxConnections,
    };
    // A peer truncates its output in place; a BITS job keeps the old file until Complete
    // renames over it, which on the 4 GiB tmpfs (corpus + 1 GiB dest + 1 GiB temp) fills it up.
    if (type === 'DOWNLOAD') for (const i of items) rmSync(i.dest, { force: true });
    const specPath = join(workDir, `spec-${seq++}.json`);
    writeFileSync(specPath, JSON.stringify(spec));
    await resetPeakRss(pid);
    const cpu0 = await processCpuMs(pid);
    const timed = await runTimed([process.execPath, CLIENT, specPath], runCpu);
    const daemonCpu = (await processCpuMs(pid)) - cpu0;
    const daemonRss = await processTreeHwmKiB(pid);
    const report = JSON.parse(timed.stdout.trim().split('\n').pop() ?? '{}') as OpenbitsClientReport;
    clientPeakRssKiB = Math.max(clientPeakRssKiB, timed.maxRssKiB);
    return {
      wallMs: report.wallMs,
      cpuMs: report.clientCpuMs + daemonCpu,
      // The daemon holds the transfer; the client is a thin caller (its own peak, ~130 MiB of
      // Node + undici + module loading, is logged at teardown, not mixed into S9's figure).
      peakRssKiB: daemonRss,
      perItemMs: report.perItemMs,
      dropped: report.dropped ?? [],
    };
  };

  return {
    label: 'openbits 0.1.0 (bitsd + client)',
    isStandIn: false,
    checkpointIntervalBytes: CHECKPOINT_BYTES,

    async setup(env) {
      workDir = join(env.workDir, 'openbits');
      // The state folder (SQLite database) lives on disk like a user's, not on the tmpfs.
      home = options.home ?? join(REPO, 'bench', 'work', 'openbits-home');
      rmSync(home, { recursive: true, force: true });
      cpu = env.cpu;
      rmSync(workDir, { recursive: true, force: true });
      mkdirSync(workDir, { recursive: true });
      mkdirSync(home, { recursive: true, mode: 0o700 });
      writeFileSync(join(home, 'config.json'), JSON.stringify(benchConfig()));
      if (CLI_FROM === 'dist') buildPackage();
      // A first start fills bitsd's compile cache (in the fresh home), as an installed daemon's
      // earlier runs would have; the suite measures the daemon from its second start.
      await start();
      await stop();
      await start();
      const root = upRoot();
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
      // The upload server is the far side, like nginx: pinned to CPU 0.
      uploader = spawn(
        'taskset',
        ['-c', '0', process.execPath, UPLOAD_SERVER, '--root', root, '--port', '0', '--allow-overwrite'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      uploadBase = await new Promise<string>((resolve, reject) => {
        let out = '';
        uploader?.stdout?.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /listening on (\S+)/u.exec(out);
          if (m) resolve((m[1] as string).replace(/\/?$/u, '/'));
        });
        uploader?.once('exit', (code) => reject(new Error(`bits-upload-server exited ${code}`)));
      });
    },

    async teardown() {
      process.stderr.write(`[openbits adapter] client process peak RSS ${(clientPeakRssKiB / 1024).toFixed(0)} MiB\n`);
      await stop();
      if (uploader) await stopBitsd(uploader);
      rmSync(workDir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
      rmSync(upRoot(), { recursive: true, force: true });
    },

    download: (items, options) => run(items, options.mode, 'DOWNLOAD', options.cpu, options.maxConnections),

    async upload(path, size, runCpu) {
      const name = `up-${seq}.bin`;
      const measure = await run([{ url: `${uploadBase}${name}`, dest: path, size }], 'one-job', 'UPLOAD', runCpu);
      rmSync(join(upRoot(), name), { force: true });
      return measure;
    },

    async startThrottled(item, bytesPerSecond): Promise<RunningDownload> {
      const c = api();
      const pid = daemonPid();
      // bitsd runs for the whole suite: its CPU here is what this download adds, not its lifetime total.
      const cpuBefore = await processCpuMs(pid);
      const job = await c.createJob('bench-throttled');
      await c.setPriority(job.id, 'FOREGROUND');
      await c.setMaxBandwidth(job.id, bytesPerSecond);
      await c.addFile(job.id, item.url, item.dest);
      await c.resume(job.id);
      return {
        cpuMs: async () => (await processCpuMs(pid)) - cpuBefore,
        async stop() {
          await c.cancel(job.id);
        },
      };
    },

    async killAndResume(item, killAtFraction): Promise<KillResumeMeasure> {
      let c = api();
      const job = await c.createJob('bench-kill');
      await c.setPriority(job.id, 'FOREGROUND');
      await c.addFile(job.id, item.url, item.dest);
      await c.resume(job.id);
      for (;;) {
        const p = await c.getProgress(job.id);
        if (p.filesTransferred > 0) throw new Error('the job finished before it could be killed; use a bigger file');
        if (p.bytesTransferred >= item.size * killAtFraction) break;
      }
      await stop('SIGKILL');
      // Where the restart resumes and the temp file, read from the dead daemon's database: the
      // last durable checkpoint, or the bytes written past it in this boot (docs/durability.md).
      const db = new DatabaseSync(join(home, 'jobs.db'));
      const row = db
        .prepare(
          `SELECT f.bytes_transferred AS b, w.bytes AS w, w.boot AS boot, f.temporary_name AS t FROM files f
           LEFT JOIN file_written w ON w.job_id = f.job_id AND w.idx = f.idx WHERE f.job_id = ? AND f.idx = 0`,
        )
        .get(job.id) as { b: number; w: number | null; boot: string | null; t: string | null } | undefined;
      db.close();
      const kept = row?.w !== null && row?.w !== undefined && row.boot === readBootId() ? row.w : 0;
      const resumedFrom = Math.max(Number(row?.b ?? 0), kept);
      const temp =
        row?.t ??
        join(
          dirname(item.dest),
          readdirSync(dirname(item.dest)).find((n) => n.startsWith(`.${basename(item.dest)}.`)) ?? '',
        );
      const bytesOnDiskAtKill = statSync(temp).size;
      const restarted = performance.now();
      await start();
      c = api();
      let ttfbAfterRestartMs = Number.NaN;
      for (;;) {
        const info = await c.getJob(job.id);
        const now = performance.now() - restarted;
        if (Number.isNaN(ttfbAfterRestartMs) && info.progress.bytesTransferred > resumedFrom) ttfbAfterRestartMs = now;
        if (info.state === 'TRANSFERRED') break;
        if (info.state === 'ERROR') throw new Error(`the resumed job failed: ${JSON.stringify(info.error)}`);
        await sleep(1);
      }
      await c.complete(job.id);
      const resumeWallMs = performance.now() - restarted;
      return { bytesOnDiskAtKill, resumedFrom, ttfbAfterRestartMs, resumeWallMs };
    },

    cli(): CliRoute {
      return {
        // `node bin/bitsadmin.js` with this Node (24, from node_modules/.bin under npm run bench).
        argv: cliCommand(process.env.OPENBITS_BENCH_CLI, [process.execPath, BITSADMIN]),
        cwd: REPO,
        env: { ...process.env, OPENBITS_HOME: home, OPENBITS_NO_AUTOSTART: '1', OPENBITS_RUN_FROM: CLI_FROM },
        socketPath: join(home, 'bitsd.sock'),
        daemonPid: daemonPid(),
      };
    },

    async api(options) {
      const r = await measureApi({
        cycles: options.cycles,
        listJobs: options.listJobs,
        cpu: options.cpu,
        runFrom: CLI_FROM,
      });
      return {
        cyclesPerSecond: r.cyclesPerSecond,
        cycleCpuMs: r.cycleCpuMs,
        concurrentCyclesPerSecond: r.concurrentCyclesPerSecond,
        concurrentCycleCpuMs: r.concurrentCycleCpuMs,
        listP50Ms: r.listP50Ms,
        listP99Ms: r.listP99Ms,
        listCpuMs: r.listCpuMs,
        summaryP50Ms: r.summaryP50Ms,
        summaryP99Ms: r.summaryP99Ms,
        summaryCpuMs: r.summaryCpuMs,
        cliStartMs: r.cliStartMs,
        daemonFirstReplyMs: r.daemonFirstReplyMs,
      };
    },
  };
}
