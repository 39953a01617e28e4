import type { YieldStatus } from '../api/bits-manager.ts';
import type { Clock, Job, JobPriority, TimerHandle } from '../core/index.ts';
import { isLoopbackHost, isUploadType } from '../core/index.ts';
import { BaseDelay, nextYieldRate, type YieldClass, type YieldPolicy, yieldClass } from '../scheduler/ledbat.ts';
import { selectProxy } from '../transfer/proxy.ts';
import type { ProbeTarget } from './delay-probe.ts';
import type { InterfaceBytes } from './link-counters.ts';

type Background = Exclude<JobPriority, 'FOREGROUND'>;

/** Where the controller's signals come from (the kernel in bitsd; scripted in tests). */
export interface LinkProbes {
  /** A handshake's round trip with `target` (ms); rejects when there is no answer. */
  rtt(target: ProbeTarget): Promise<number>;
  /** The interface carrying traffic to `target`, or null when it cannot be found. */
  interfaceOf(target: ProbeTarget): Promise<string | null>;
  /** The interface's byte counters, or null when the kernel has none to give. */
  counters(iface: string): InterfaceBytes | null;
  /** Bytes received from `target` the process has not read yet (socket buffers), or null. */
  unread(target: ProbeTarget): number | null;
}

export interface YieldLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** What the wire carries beyond the payload (TCP/IP and Ethernet headers of full-size packets). */
const WIRE_OVERHEAD = 1.05;
/** Probes that fail in a row before the controller falls back to the fixed limits. */
const FAILURES_TO_FIXED = 3;
/** The current delay is the minimum of this many recent samples (RFC 6817 CURRENT_FILTER). */
const CURRENT_FILTER = 2;
/** Other traffic over this share of the capacity (and rate) in the last two steps counts at once. */
const FAST_OTHERS_SHARE = 0.25;
const FAST_OTHERS_MIN_RATE = 256 * 1024;
/**
 * A new flow the job starves: a throttled reader keeps its sender's window open at its rate, so a
 * foreground flow that starts beside it gets only what the rate leaves (a few per cent of the
 * link) and looks like a queue of our own. Others above this share of the capacity (and rate) in
 * each of the last NEW_FLOW_STEPS two-step windows are somebody there: the job yields at once.
 * (Our own late bytes, forgiven by the gap's lower envelope, pass such a test once or twice an
 * alone run at most; a new flow passes it within a second.)
 */
const NEW_FLOW_SHARE = 0.04;
const NEW_FLOW_MIN_RATE = 64 * 1024;
const NEW_FLOW_STEPS = 3;
/** A window counts as the link's rate when it carried at least this share of the most seen. */
const FULL_LINK_SHARE = 0.8;
/**
 * Handshakes per control step. One: two samples a step apart, so a stall of the event loop (a
 * loaded machine) that delays one handshake's answer does not delay the other.
 */
const PROBES_PER_STEP = 1;
/** How long the interface's busiest window is remembered as its capacity. */
const CAPACITY_WINDOW_MS = 120_000;

/** The host and port a job's bytes come from now (its first file not yet transferred, or its proxy). */
export function probeTargetOf(job: Job): ProbeTarget | 'loopback' | null {
  const file = job.files.find((f) => !f.transferred);
  if (file === undefined) return null;
  let url: URL;
  try {
    url = new URL(file.remoteName);
  } catch {
    return null;
  }
  if (url.protocol === 'file:') return 'loopback';
  const via = selectProxy(job.proxy, url) ?? url;
  if (isLoopbackHost(via.hostname)) return 'loopback';
  const port = via.port !== '' ? Number(via.port) : via.protocol === 'https:' ? 443 : 80;
  return { host: via.hostname, port };
}

interface History {
  at: number;
  own: number;
  /** Bytes the rate in force allowed since the loop started. */
  allowed: number;
  /** Own bytes on the wire: taken, plus those received and not read yet. */
  wire: number;
  iface: number | null;
  /** Bytes the interface carried (less headers) beyond our own since the loop started: others' and ours not seen yet. */
  gap: number | null;
  /** The smaller of this step's gap and the one before: the others' bytes, ours late by a step forgiven. */
  others: number | null;
}

/** The control loop of one background priority: it runs while jobs of that priority transfer. */
class YieldLoop {
  readonly priority: Background;
  readonly runs = new Map<string, ProbeTarget>();
  readonly #c: YieldControl;
  readonly #base = new BaseDelay();
  #samples: number[] = [];
  #failures = 0;
  #probing = false;
  #own = 0;
  #history: History[] = [];
  #carried: Array<{ at: number; rate: number; queued: boolean }> = [];
  #rate: number;
  #timer: TimerHandle | null = null;
  #probeTimer: TimerHandle | null = null;
  /** The last NEW_FLOW_STEPS steps' others over their last two steps (newest last). */
  #otherLately: number[] = [];
  #newFlow = false;
  /** When the new flow now seen arrived (monotonic ms). */
  #newFlowSince = 0;
  #lastTick = 0;
  #iface: string | null = null;
  #ifaceFor: string | null = null;
  #note: string | null = null;
  mode: 'yielding' | 'fixed' = 'yielding';
  /** Which counter its jobs' bytes show in: received for downloads, sent for uploads. */
  direction: 'rx' | 'tx' = 'rx';

  constructor(control: YieldControl, priority: Background) {
    this.#c = control;
    this.priority = priority;
    this.#rate = Math.max(control.policy.floorRate, INITIAL_RATE);
  }

  get rate(): number {
    return this.#rate;
  }

  get status(): YieldStatus {
    return {
      mode: this.mode,
      rate: this.mode === 'yielding' ? Math.round(this.#rate) : null,
      interface: this.#iface,
      note: this.#note,
    };
  }

  /** Bytes a job of this priority took from its limiter. */
  count(bytes: number): void {
    this.#own += bytes;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#lastTick = this.#c.clock.monotonicMs();
    this.#history = [];
    this.#arm();
    this.#probe();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#probeTimer?.cancel();
    this.#probeTimer = null;
  }

  /**
   * The next handshake, PROBES_PER_STEP per control step: the current delay (the smaller of the
   * last two) is then at most one step old when the step reads it.
   */
  #probeLater(): void {
    if (this.#timer === null) return;
    this.#probeTimer?.cancel();
    this.#probeTimer = this.#c.clock.setTimer(this.#c.intervalMs / PROBES_PER_STEP, () => {
      this.#probeTimer = null;
      this.#probe();
    });
  }

  #arm(): void {
    this.#timer = this.#c.clock.setTimer(this.#c.intervalMs, () => {
      this.#tick();
      if (this.#timer !== null) this.#arm();
    });
  }

  #target(): ProbeTarget | undefined {
    return [...this.runs.values()].at(-1);
  }

  #probe(): void {
    const target = this.#target();
    if (target === undefined || this.#probing) return;
    this.#probing = true;
    const key = `${target.host}:${target.port}`;
    if (this.#ifaceFor !== key) {
      this.#ifaceFor = key;
      void this.#c.probes.interfaceOf(target).then(
        (iface) => this.#setInterface(iface, target),
        () => this.#setInterface(null, target),
      );
    }
    this.#c.probes.rtt(target).then(
      (ms) => {
        this.#probing = false;
        this.#probeLater();
        this.#failures = 0;
        this.#base.update(ms, this.#c.clock.monotonicMs());
        this.#samples = [...this.#samples, ms].slice(-CURRENT_FILTER);
        if (this.mode === 'fixed') {
          this.mode = 'yielding';
          this.#setNote(this.#iface === null ? 'no interface counters: delay signal only' : null);
          this.#c.logger.info({ priority: this.priority, target: key }, 'yield: delay signal back, yielding again');
        }
      },
      (err: unknown) => {
        this.#probing = false;
        this.#probeLater();
        this.#samples = [];
        if (++this.#failures === FAILURES_TO_FIXED) {
          this.mode = 'fixed';
          this.#setNote(`no delay signal (handshake with ${key}: ${(err as Error).message}): fixed limits apply`);
          this.#c.logger.warn(
            { priority: this.priority, target: key, err: (err as Error).message },
            'yield: no delay signal, background jobs use the fixed limits',
          );
          this.#c.apply(this.priority, Number.POSITIVE_INFINITY);
        }
      },
    );
  }

  #setInterface(iface: string | null, target: ProbeTarget): void {
    const counters = iface === null ? null : this.#c.probes.counters(iface);
    this.#iface = counters === null ? null : iface;
    this.#history = [];
    if (this.#iface === null) {
      const why = iface === null ? `no route to ${target.host} found` : `no counters for ${iface}`;
      this.#setNote(`no interface counters (${why}): delay signal only`);
      this.#c.logger.warn(
        { priority: this.priority, target: target.host },
        `yield: ${why}, using the delay signal only`,
      );
    } else {
      this.#setNote(null);
      this.#c.logger.info({ priority: this.priority, interface: iface }, 'yield: watching the interface counters');
    }
  }

  #setNote(note: string | null): void {
    if (this.mode === 'fixed' && note === null) return;
    this.#note = note;
  }

  #tick(): void {
    const now = this.#c.clock.monotonicMs();
    const dtMs = now - this.#lastTick;
    this.#lastTick = now;
    const counters = this.#iface === null ? null : this.#c.probes.counters(this.#iface);
    const ifaceBytes = counters === null ? null : this.direction === 'rx' ? counters.rx : counters.tx;
    const last = this.#history.at(-1);
    const allowed = (last?.allowed ?? 0) + (this.#rate * dtMs) / 1000;
    const target = this.#target();
    const unread = this.direction === 'rx' && target !== undefined ? (this.#c.probes.unread(target) ?? 0) : 0;
    const wire = this.#own + unread;
    // Bytes the interface counted reach our socket late at times (a loss holds what follows in
    // the out-of-order queue until the resend; a busy machine leaves packets in its backlog):
    // for a step or two they look like someone else's, then ours arrive all at once. The others'
    // bytes only grow, so the lower envelope of the gap is theirs (as the current delay is the
    // smaller of two samples).
    const gap = ifaceBytes === null ? null : ifaceBytes / WIRE_OVERHEAD - wire;
    const others = gap === null ? null : Math.min(gap, last?.gap ?? gap);
    this.#history.push({ at: now, own: this.#own, allowed, wire, iface: ifaceBytes, gap, others });
    // Rates over the reaction time: what the engine holds between reading a socket and taking
    // from the limiter (a stream's buffer) is then a few per cent, not a phantom other flow.
    const window = Math.max(this.#c.policy.reactionMs, 2 * this.#c.intervalMs);
    while (this.#history.length > 2 && (this.#history[1] as History).at <= now - window) this.#history.shift();
    const first = this.#history[0] as History;
    const span = (now - first.at) / 1000;
    const ownRate = span > 0 ? (wire - first.wire) / span : 0;
    const used = allowed > first.allowed ? (this.#own - first.own) / (allowed - first.allowed) : 0;
    const base = this.#base.value;
    const current = this.#samples.length === 0 ? null : Math.min(...this.#samples);
    const queueDelayMs = base === null || current === null ? null : current - base;
    const cls: YieldClass = yieldClass(this.#c.policy, this.priority);
    let otherRate: number | null = null;
    if (ifaceBytes !== null && first.iface !== null && others !== null && first.others !== null && span > 0) {
      // Payload bytes, as the job counts its own.
      const total = (ifaceBytes - first.iface) / span / WIRE_OVERHEAD;
      otherRate = Math.max(0, (others - first.others) / span);
      // The most the interface carried over a whole window is the capacity (a lower bound until
      // the link was once full); the most it carried while a queue stood is the link's rate.
      if (span * 1000 >= 0.9 * window) {
        // A queue while the interface carried well under its most is a burst or a late answer on
        // a busy machine, not the link being full: it says nothing about the link's rate.
        const most = Math.max(total, ...this.#carried.map((r) => r.rate));
        const queued = queueDelayMs !== null && queueDelayMs >= cls.targetDelayMs && total >= FULL_LINK_SHARE * most;
        this.#carried.push({ at: now, rate: total, queued });
      }
    }
    while (this.#carried.length > 0 && (this.#carried[0] as { at: number }).at < now - CAPACITY_WINDOW_MS)
      this.#carried.shift();
    const capacity = this.#carried.length === 0 ? null : Math.max(...this.#carried.map((r) => r.rate));
    const queuedRates = this.#carried.filter((r) => r.queued).map((r) => r.rate);
    const linkRate = queuedRates.length === 0 ? null : Math.max(...queuedRates);
    // A flow that took a quarter of the link over the last two steps, as over the two before
    // them, is not a buffer's jitter (bytes the engine read but has not taken yet show as
    // others for a step, then as much less): act on it now, not when the mean catches up.
    const recent = this.#history.at(-3);
    let otherLately: number | null = null;
    let ownLately: number | null = null;
    if (otherRate !== null && capacity !== null && recent !== undefined && recent.others !== null && others !== null) {
      const s = (now - recent.at) / 1000;
      otherLately = s > 0 ? (others - recent.others) / s : 0;
      ownLately = s > 0 ? (wire - recent.wire) / s : 0;
      const both = Math.min(otherLately, this.#otherLately.at(-1) ?? 0);
      if (both > Math.max(FAST_OTHERS_SHARE * capacity, FAST_OTHERS_MIN_RATE)) otherRate = Math.max(otherRate, both);
    }
    this.#otherLately = otherLately === null ? [] : [...this.#otherLately, otherLately].slice(-NEW_FLOW_STEPS);
    const lowest = Math.min(...this.#otherLately);
    const newFlow =
      capacity !== null &&
      this.#otherLately.length === NEW_FLOW_STEPS &&
      lowest > Math.max(NEW_FLOW_SHARE * capacity, NEW_FLOW_MIN_RATE);
    if (newFlow && otherRate !== null) otherRate = Math.max(otherRate, lowest);
    const newFlowArrived = newFlow && !this.#newFlow;
    this.#newFlow = newFlow;
    if (newFlowArrived) this.#newFlowSince = now;
    const newFlowForMs = newFlow ? now - this.#newFlowSince : undefined;
    // No handshake under way or due (there was no target when the last one ended): start one.
    if (!this.#probing && this.#probeTimer === null) this.#probe();
    if (this.mode !== 'yielding') return;
    const limited = this.#c.limited(this.priority);
    const sample = {
      dtMs,
      queueDelayMs,
      used,
      limited,
      otherRate,
      newFlow,
      newFlowArrived,
      ...(newFlowForMs === undefined ? {} : { newFlowForMs }),
      ownLately,
      otherLately,
      capacity,
      linkRate,
    };
    this.#rate = nextYieldRate(this.#rate, sample, cls, this.#c.policy);
    this.#c.apply(this.priority, this.#rate);
    this.#c.trace?.({
      at: now,
      priority: this.priority,
      rate: this.#rate,
      queueDelayMs,
      ownRate,
      otherRate,
      otherLately,
      ownLately,
      capacity,
      gap,
    });
  }
}

/** Where a yielding job starts: a few packets per reaction time, grown from there. */
const INITIAL_RATE = 64 * 1024;

/** One step of the controller, for benchmarks and debugging. */
export interface YieldTrace {
  readonly at: number;
  readonly priority: Background;
  readonly rate: number;
  readonly queueDelayMs: number | null;
  readonly ownRate: number;
  readonly otherRate: number | null;
  /** Others over the last two steps (the fast path), or null. */
  readonly otherLately: number | null;
  /** The job's own bytes on the wire over the same two steps, or null. */
  readonly ownLately: number | null;
  readonly capacity: number | null;
  /** Bytes the interface carried beyond our own since the loop started (before the filter), or null. */
  readonly gap: number | null;
}

export interface YieldControlOptions {
  readonly clock: Clock;
  readonly policy: YieldPolicy;
  readonly probes: LinkProbes;
  readonly logger: YieldLogger;
  /** Set the controller's rate of a priority (Infinity: none). */
  readonly apply: (priority: Background, rate: number) => void;
  /** Whether jobs of a priority wait for the controller's rate now. */
  readonly limited: (priority: Background) => boolean;
  readonly trace?: ((step: YieldTrace) => void) | undefined;
}

/**
 * The yielding controller (issue 15, docs/scheduling.md "Yielding to other traffic"): for each
 * background priority with running jobs, a loop on the injected clock measures the queueing delay
 * its own traffic meets (handshakes with the job's server against their minimum) and the other
 * traffic on the interface that carries it (kernel counters minus its own bytes), and sets that
 * priority's rate with `nextYieldRate`. FOREGROUND jobs, loopback and file:// sources are exempt.
 */
export class YieldControl {
  readonly clock: Clock;
  readonly probes: LinkProbes;
  readonly logger: YieldLogger;
  readonly apply: (priority: Background, rate: number) => void;
  readonly limited: (priority: Background) => boolean;
  readonly trace: ((step: YieldTrace) => void) | undefined;
  policy: YieldPolicy;
  readonly #loops = new Map<Background, YieldLoop>();
  readonly #exempt = new Map<string, string>();

  constructor(options: YieldControlOptions) {
    this.clock = options.clock;
    this.policy = options.policy;
    this.probes = options.probes;
    this.logger = options.logger;
    this.apply = options.apply;
    this.limited = options.limited;
    this.trace = options.trace;
  }

  /** Probe and control every fifth of the reaction time. */
  get intervalMs(): number {
    return Math.max(20, this.policy.reactionMs / 5);
  }

  setPolicy(policy: YieldPolicy): void {
    const wasEnabled = this.policy.enabled;
    this.policy = policy;
    if (wasEnabled && !policy.enabled) {
      for (const loop of this.#loops.values()) {
        loop.stop();
        this.apply(loop.priority, Number.POSITIVE_INFINITY);
      }
      this.#loops.clear();
    }
  }

  /**
   * A run of `job` starts: returns what its limiter should count bytes into, or null when the
   * job does not yield (the reason is kept for its status).
   */
  attach(job: Job): ((bytes: number) => void) | null {
    this.#exempt.delete(job.id);
    const why = this.#exemption(job);
    const target = why === null ? probeTargetOf(job) : null;
    if (why !== null || target === null || target === 'loopback') {
      this.#exempt.set(
        job.id,
        why ?? (target === 'loopback' ? 'loopback or local source: no link to share' : 'no remote source'),
      );
      return null;
    }
    const priority = job.priority as Background;
    let loop = this.#loops.get(priority);
    if (loop === undefined) {
      loop = new YieldLoop(this, priority);
      this.#loops.set(priority, loop);
    }
    loop.runs.set(job.id, target);
    loop.direction = isUploadType(job.type) ? 'tx' : 'rx';
    this.apply(priority, loop.mode === 'yielding' ? loop.rate : Number.POSITIVE_INFINITY);
    loop.start();
    const counting = loop;
    return (bytes) => counting.count(bytes);
  }

  #exemption(job: Job): string | null {
    if (job.priority === 'FOREGROUND') return 'FOREGROUND jobs never yield';
    if (!this.policy.enabled) return 'yielding is off (bandwidth.yield.enabled)';
    return null;
  }

  /** The run of `jobId` ended. A priority without runs stops its loop (its rate stays for the next run). */
  detach(jobId: string): void {
    this.#exempt.delete(jobId);
    for (const loop of this.#loops.values()) {
      if (!loop.runs.delete(jobId) || loop.runs.size > 0) continue;
      loop.stop();
      this.apply(loop.priority, Number.POSITIVE_INFINITY);
    }
  }

  /** How a running job's rate is decided now; null when it is not running. */
  status(jobId: string): YieldStatus | null {
    const why = this.#exempt.get(jobId);
    if (why !== undefined) return { mode: 'off', rate: null, interface: null, note: why };
    for (const loop of this.#loops.values()) if (loop.runs.has(jobId)) return loop.status;
    return null;
  }

  stop(): void {
    for (const loop of this.#loops.values()) loop.stop();
  }
}
