import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { YieldStatus } from '../../src/api/bits-manager.ts';
import { connect } from '../../src/client/index.ts';
import type { JobPriority } from '../../src/core/index.ts';
import type { YieldTrace } from '../../src/service/yield-control.ts';
import type { Bottleneck } from '../../test/helpers/bottleneck.ts';
import { sleep } from './exec.ts';

const BITSD = fileURLToPath(new URL('../../bin/bitsd.js', import.meta.url));

/** Throughput of the two flows at one moment (bytes/s over the last sample period). */
export interface FlowPoint {
  /** Seconds since the timeline started. */
  readonly t: number;
  readonly background: number;
  readonly foreground: number;
}

/** One step of bitsd's yielding controller (OPENBITS_YIELD_TRACE), `t` on the timeline's clock. */
export type ControllerPoint = YieldTrace & { readonly t: number };

/** One openbits run on the bottleneck: alone, beside a foreground curl, alone again. */
export interface YieldTimeline {
  readonly points: readonly FlowPoint[];
  /** The controller's steps (empty when bitsd wrote no trace). */
  readonly controller: readonly ControllerPoint[];
  readonly foregroundStart: number;
  /** When the foreground's first bytes arrived (its process started, connected, asked). */
  readonly foregroundFirstByte: number;
  readonly foregroundEnd: number;
  /** Mean background throughput over the settled part of the first alone phase (bytes/s). */
  readonly aloneRate: number;
  /** The foreground curl's mean throughput (its size / its time). */
  readonly foregroundRate: number;
  /**
   * Seconds from the foreground's first byte until openbits's 1 s mean falls under 10 % of the
   * link (the curl's start-up in the namespace, seconds on a loaded machine, is not openbits's).
   */
  readonly givesWaySeconds: number;
  /** Seconds from the foreground's end until openbits's 1 s mean is back at 80 % of its alone rate. */
  readonly takesBackSeconds: number;
  /** Ping round trips with openbits alone on the link (ms). */
  readonly pingMs: readonly number[];
  /** The job's `yielding` status at the end (the API's JobInfo). */
  readonly status: YieldStatus | null;
}

export interface TimelineOptions {
  readonly aloneSeconds: number;
  readonly foregroundSeconds: number;
  readonly afterSeconds: number;
  readonly priority?: JobPriority;
  /** Policy file contents for bitsd (default: none, the defaults). */
  readonly policy?: object;
}

const SAMPLE_MS = 100;
const TRACE_FILE = 'yield-trace.jsonl';

/** bitsd's controller steps since `wallT0` (ms since the epoch), on the timeline's clock. */
function readTrace(home: string, wallT0: number): ControllerPoint[] {
  let text = '';
  try {
    text = readFileSync(join(home, TRACE_FILE), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as YieldTrace & { wallMs: number })
    .map(({ wallMs, ...step }) => ({ ...step, t: (wallMs - wallT0) / 1000 }));
}

/** Start bitsd in the client namespace; resolves once it listens. */
export async function startBitsdIn(link: Bottleneck, home: string, policy?: object): Promise<ChildProcess> {
  mkdirSync(home, { recursive: true });
  if (policy !== undefined) writeFileSync(join(home, 'config.json'), JSON.stringify(policy));
  const child = link.spawnIn([process.execPath, BITSD], {
    env: {
      ...process.env,
      OPENBITS_HOME: home,
      OPENBITS_NO_AUTOSTART: '1',
      OPENBITS_METRICS: 'off',
      OPENBITS_YIELD_TRACE: join(home, TRACE_FILE),
    },
    stdio: 'pipe',
  });
  let text = '';
  child.stderr?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('bitsd is listening')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`bitsd exited (${code}): ${text.slice(-800)}`)));
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** A curl of the big file for `seconds` in the client namespace; resolves with its mean rate (bytes/s). */
export function curlFor(
  link: Bottleneck,
  seconds: number,
  output = '/dev/null',
): { child: ChildProcess; rate: Promise<number> } {
  const child = link.spawnIn(
    ['curl', '-s', '-o', output, '-m', String(seconds), '-w', '%{size_download} %{time_total}', link.bigUrl],
    { stdio: 'pipe' },
  );
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (c: string) => {
    out += c;
  });
  const rate = once(child, 'exit').then(() => {
    const [size, time] = out.trim().split(' ').map(Number) as [number, number];
    if (!(size > 0 && time > 0)) throw new Error(`curl printed ${JSON.stringify(out)}`);
    return size / time;
  });
  return { child, rate };
}

/**
 * Sample the flows every 100 ms until `stop.done`, from cumulative byte counts read without
 * spawning anything: what bitsd read from its sockets (`rchar` of /proc/PID/io; libuv reads
 * with read(2)) and the size of the foreground curl's output file.
 */
async function sampleFlows(
  background: () => number,
  foreground: () => number,
  t0: number,
  stop: { done: boolean },
): Promise<FlowPoint[]> {
  const points: FlowPoint[] = [];
  let lastBg = background();
  let lastFg = foreground();
  let lastT = performance.now();
  while (!stop.done) {
    await sleep(SAMPLE_MS);
    const now = performance.now();
    const bg = background();
    const fg = foreground();
    const dt = (now - lastT) / 1000;
    points.push({ t: (now - t0) / 1000, background: (bg - lastBg) / dt, foreground: Math.max(0, fg - lastFg) / dt });
    lastBg = bg;
    lastFg = fg;
    lastT = now;
  }
  return points;
}

/** Bytes a process has read so far (read(2) on files and sockets alike). */
function readBytes(pid: number | undefined): number {
  try {
    return Number(/rchar: (\d+)/u.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The mean of `series` over [from, to) seconds. Pure. */
export function meanOver(points: readonly FlowPoint[], pick: (p: FlowPoint) => number, from: number, to: number) {
  const inside = points.filter((p) => p.t >= from && p.t < to);
  return inside.length === 0 ? Number.NaN : inside.reduce((a, p) => a + pick(p), 0) / inside.length;
}

/**
 * The first time ≥ `from` when the 1 s running mean of `pick` satisfies `ok`, as seconds after
 * `from`; NaN when it never does. Pure.
 */
export function firstTime(
  points: readonly FlowPoint[],
  pick: (p: FlowPoint) => number,
  from: number,
  ok: (mean: number) => boolean,
): number {
  for (const p of points) {
    if (p.t < from + 1) continue;
    const mean = meanOver(points, pick, p.t - 1, p.t + 1e-9);
    if (ok(mean)) return p.t - from;
  }
  return Number.NaN;
}

/** The job's owner-side view over the socket; the job downloads the big file into `home`. */
export async function yieldTimeline(link: Bottleneck, home: string, options: TimelineOptions): Promise<YieldTimeline> {
  const bitsd = await startBitsdIn(link, home, options.policy);
  const client = connect({ socketPath: join(home, 'bitsd.sock'), autoStart: false });
  const stop = { done: false };
  try {
    // `ip netns exec` execs the command: bitsd's pid is the child's.
    const fgFile = join(home, 'foreground.bin');
    const job = await client.createJob('yield-bench');
    await client.setPriority(job.id, options.priority ?? 'NORMAL');
    await client.addFile(job.id, link.bigUrl, join(home, 'big.bin'));
    const t0 = performance.now();
    const wallT0 = Date.now();
    await client.resume(job.id);
    const sampling = sampleFlows(
      () => readBytes(bitsd.pid),
      () => fileSize(fgFile),
      t0,
      stop,
    );
    const settle = Math.min(8, options.aloneSeconds / 2);
    // The ping runs over the end of the alone phase: at first the socket's receive buffer fills
    // at the link's speed whatever the job reads (docs/scheduling.md), and a queue stands.
    const pingSeconds = Math.min(10, options.aloneSeconds - settle - 1);
    await sleep(Math.max(0, t0 + (options.aloneSeconds - pingSeconds - 1) * 1000 - performance.now()));
    const pingMs = await link.ping(pingSeconds);
    await sleep(Math.max(0, t0 + options.aloneSeconds * 1000 - performance.now()));
    const foregroundStart = (performance.now() - t0) / 1000;
    const foregroundRate = await curlFor(link, options.foregroundSeconds, fgFile).rate;
    rmSync(fgFile, { force: true });
    const foregroundEnd = (performance.now() - t0) / 1000;
    await sleep(options.afterSeconds * 1000);
    stop.done = true;
    const points = await sampling;
    const aloneRate = meanOver(points, (p) => p.background, settle, foregroundStart);
    // The sample that first saw foreground bytes covers the 100 ms before it.
    const firstByte = points.find((p) => p.t >= foregroundStart && p.foreground > 0);
    const foregroundFirstByte = Math.max(foregroundStart, (firstByte?.t ?? foregroundStart) - SAMPLE_MS / 1000);
    const { yielding: status } = await client.getJob(job.id);
    await client.cancel(job.id);
    return {
      points,
      controller: readTrace(home, wallT0),
      foregroundStart,
      foregroundFirstByte,
      foregroundEnd,
      aloneRate,
      foregroundRate,
      givesWaySeconds: firstTime(
        points,
        (p) => p.background,
        foregroundFirstByte,
        (m) => m <= 0.1 * link.rateBytes,
      ),
      takesBackSeconds: firstTime(
        points,
        (p) => p.background,
        foregroundEnd,
        (m) => m >= 0.8 * aloneRate,
      ),
      pingMs,
      status,
    };
  } finally {
    stop.done = true;
    await client.close().catch(() => undefined);
    await stopChild(bitsd);
  }
}

/** A background tool (aria2c or curl) on the link: ping RTT beside it, then a foreground curl's rate. */
export async function peerBeside(
  link: Bottleneck,
  argv: readonly string[],
  options: { settleSeconds: number; pingSeconds: number; foregroundSeconds: number },
): Promise<{ pingMs: number[]; foregroundRate: number }> {
  const bg = link.spawnIn(argv);
  try {
    await sleep(options.settleSeconds * 1000);
    if (bg.exitCode !== null) throw new Error(`${argv[0]} exited early (${bg.exitCode})`);
    const pingMs = await link.ping(options.pingSeconds);
    return { pingMs, foregroundRate: await curlFor(link, options.foregroundSeconds).rate };
  } finally {
    await stopChild(bg);
  }
}
