/**
 * Scheduler benchmark (`npm run bench:scheduler`): 10,000 queued jobs of one 4 KiB file each from
 * nginx, through a real bitsd (NORMAL priority, `maxBackgroundJobs: 8`), against `aria2c -i` and
 * `wget -i` on the same URL list. Figures: files/s (first createJob → last Complete; each job is
 * completed on its TRANSFERRED event) and the daemon's CPU per job. Writes
 * bench/results/<runId>/S10.json like the suite's scenarios and regenerates docs/benchmarks.md.
 *
 * `node bench/scheduler.ts [--jobs 10000] [--runs 1] [--cpu 1]`
 *
 * Served files and destinations are on a tmpfs (the peers never fsync, ours does per file; the
 * point here is the per-job cost of queueing and scheduling). bitsd's database is on disk.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchConfig, startBitsd } from './adapters/ours-openbits.ts';
import { processCpuMs, runTimed } from './lib/exec.ts';
import { startNginx } from './lib/nginx.ts';
import { measurement, medianOf, ratioRow } from './lib/ratio.ts';
import { writeReport } from './lib/report-files.ts';
import { runIdFor, runMeta, writeResult } from './lib/results.ts';
import type { Measurement } from './lib/types.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OURS = 'openbits';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

function log(line: string): void {
  process.stderr.write(`[bench scheduler ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** One run of ours: queue every job, complete each on TRANSFERRED; wall and daemon CPU. */
async function runOurs(urls: readonly string[], dest: string, home: string, cpu: string) {
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'config.json'), JSON.stringify(benchConfig()));
  const { child, client } = await startBitsd(home, cpu);
  try {
    const pid = child.pid as number;
    const pending = new Map<string, () => void>();
    const errors: string[] = [];
    const unsubscribe = client.subscribe((event) => {
      if (event.type === 'job:transferred') pending.get(event.jobId)?.();
      else if (event.type === 'job:error') {
        errors.push(JSON.stringify(event.error));
        pending.get(event.jobId)?.();
      }
    });
    await unsubscribe.ready;
    const cpu0 = await processCpuMs(pid);
    const started = performance.now();
    const done: Promise<unknown>[] = [];
    for (let i = 0; i < urls.length; i++) {
      const job = await client.createJob(`sched-${i}`);
      const transferred = new Promise<void>((res) => pending.set(job.id, res));
      done.push(transferred.then(() => (errors.length > 0 ? undefined : client.complete(job.id))));
      await client.addFile(job.id, urls[i] as string, join(dest, `f${i}.bin`));
      await client.resume(job.id);
    }
    const queuedMs = performance.now() - started;
    await Promise.all(done);
    const wallMs = performance.now() - started;
    const cpuMs = (await processCpuMs(pid)) - cpu0;
    unsubscribe();
    if (errors.length > 0) throw new Error(`${errors.length} jobs failed, e.g. ${errors[0]}`);
    return { wallMs, cpuMs, queuedMs };
  } finally {
    await client.close();
    child.kill('SIGTERM');
    await new Promise((res) => child.once('exit', res));
  }
}

async function main(): Promise<void> {
  const jobs = Number(arg('jobs', '10000'));
  const runs = Number(arg('runs', '1'));
  const cpu = arg('cpu', cpus().length > 1 ? '1' : '0');
  const base = '/dev/shm/openbits-bench-scheduler';
  rmSync(base, { recursive: true, force: true });
  const served = join(base, 'served');
  const dest = join(base, 'dest');
  mkdirSync(served, { recursive: true });
  const body = Buffer.alloc(4096, 0x61);
  for (let i = 0; i < jobs; i++) writeFileSync(join(served, `f${i}.bin`), body);
  const nginx = await startNginx(join(base, 'nginx'), served, '0');
  const urls = Array.from({ length: jobs }, (_, i) => `${nginx.baseUrl}/f${i}.bin`);
  const listFile = join(base, 'urls.txt');
  writeFileSync(listFile, `${urls.join('\n')}\n`);
  const home = join(REPO, 'bench', 'work', 'scheduler-home');
  const benchStarted = performance.now();
  const rate = new Map<string, number[]>();
  const cpuPerJob = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  const fresh = () => {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
  };
  const peers: Array<[string, string[]]> = [
    ['aria2c -i', ['aria2c', '-q', '--file-allocation=none', '--allow-overwrite=true', '-d', dest, '-i', listFile]],
    ['wget -i', ['wget', '-q', '-nd', '-P', dest, '-i', listFile]],
  ];
  try {
    for (let r = 0; r < runs; r++) {
      fresh();
      log(`run ${r + 1}/${runs}: ours, ${jobs} jobs`);
      const ours = await runOurs(urls, dest, home, cpu);
      log(`  ${(ours.wallMs / 1000).toFixed(1)} s (queued in ${(ours.queuedMs / 1000).toFixed(1)} s)`);
      push(rate, OURS, jobs / (ours.wallMs / 1000));
      push(cpuPerJob, OURS, ours.cpuMs / jobs);
      for (const [tool, argv] of peers) {
        fresh();
        const t = await runTimed(argv, cpu);
        log(`  ${tool}: ${(t.wallMs / 1000).toFixed(1)} s`);
        push(rate, tool, jobs / (t.wallMs / 1000));
        push(cpuPerJob, tool, t.cpuMs / jobs);
      }
    }
  } finally {
    await nginx.stop();
    rmSync(base, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
  const measurements: Measurement[] = [
    ...[...rate].map(([tool, s]) => measurement(tool, 'files per second', 'files/s', 'higher', s)),
    ...[...cpuPerJob].map(([tool, s]) => measurement(tool, 'CPU per file', 'ms', 'lower', s)),
  ];
  const fps = (tool: string) => medianOf(measurements, tool, 'files per second');
  const ratios = [
    ratioRow('files/s ours / aria2c -i', fps(OURS) / fps('aria2c -i')),
    ratioRow('files/s ours / wget -i', fps(OURS) / fps('wget -i')),
    ratioRow(
      'CPU per file ours (bitsd) / aria2c -i',
      medianOf(measurements, OURS, 'CPU per file') / medianOf(measurements, 'aria2c -i', 'CPU per file'),
    ),
  ];
  const notes = [
    `${jobs} jobs × one 4 KiB file, NORMAL priority, maxBackgroundJobs 8; ours = create + addfile + resume per job through the socket, Complete on each TRANSFERRED event; time = first createJob → last Complete. Files on tmpfs; bitsd's database on disk (every API call and per-file record is an fsync'd SQLite commit). Peers get the same list (aria2c -i: 5 parallel downloads by default; wget -i: one after another); neither fsyncs.`,
    'CPU per file: ours = bitsd only (the client is this harness); peers = the whole process.',
  ];
  const ours = { label: 'openbits 0.1.0 (bitsd + client)', isStandIn: false };
  const meta = runMeta(runIdFor(new Date()), 'full', ours, REPO);
  const result = {
    scenario: 'S10',
    title: `Scheduler: ${jobs} queued jobs of 4 KiB`,
    meta,
    durationMs: performance.now() - benchStarted,
    status: 'ok' as const,
    measurements,
    ratios,
    notes,
  };
  const path = writeResult(join(REPO, 'bench', 'results'), result);
  log(`wrote ${path}`);
  for (const row of ratios) log(`  ${row.label}: ${row.value.toFixed(3)}`);
  if (!process.argv.includes('--no-report')) writeReport(join(REPO, 'bench', 'results'), join(REPO, 'docs'));
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
