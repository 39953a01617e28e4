import type { YieldStatus } from '../api/bits-manager.ts';
import type { Clock, Job, JobPriority, TimerHandle } from '../core/index.ts';
import { type BandwidthPolicy, policyRate, weekTimeOf } from '../scheduler/bandwidth-policy.ts';
import { combineLimiters, TokenBucket } from '../scheduler/token-bucket.ts';
import type { RateLimiter } from '../transfer/download-request.ts';
import { type LinkProbes, YieldControl, type YieldLogger, type YieldTrace } from './yield-control.ts';

/** What the yielding controller needs beyond the policy. */
export interface YieldOptions {
  readonly probes: LinkProbes;
  readonly logger: YieldLogger;
  readonly trace?: ((step: YieldTrace) => void) | undefined;
}

const BACKGROUND = ['HIGH', 'NORMAL', 'LOW'] as const;
type Background = (typeof BACKGROUND)[number];

/**
 * The yield buckets' burst. A throttled reader's socket buffer stays full, so every read opens
 * the sender's window by what it read and the sender sends that much at once into the
 * bottleneck's queue: after a stall of the event loop a tenth of a second of tokens would come
 * back as a 0.1 s burst (a ping behind it waits as long; a 50 ms queue drops it). A fortieth of a
 * second is about one 64 KiB socket read at 20 Mbit/s: the window opens a read at a time.
 */
const YIELD_BURST_MS = 25;

/** How often the policy rate is re-evaluated (window and timetable boundaries are on minutes). */
const REFRESH_MS = 15_000;

/**
 * Bandwidth for transfers: one bucket per background priority, shared by every job of that
 * priority (fair shares), at the rate the bandwidth policy gives now; one more per background
 * priority at the rate the yielding controller sets (yield-control.ts), taken from only by the
 * jobs that yield; plus a bucket per job with a per-job limit. FOREGROUND jobs are never
 * throttled by policy. The time of week comes from the
 * wall clock read once at start plus monotonic time, so a wall-clock jump changes nothing until a
 * restart (as BITS's window does).
 */
export class BandwidthControl {
  readonly #clock: Clock;
  #policy: BandwidthPolicy;
  readonly #onBlockChange: (priority: JobPriority, blocked: boolean) => void;
  readonly #buckets = new Map<Background, TokenBucket>();
  readonly #yieldBuckets = new Map<Background, TokenBucket>();
  readonly #yield: YieldControl;
  readonly #jobBuckets = new Map<string, TokenBucket>();
  readonly #blocked = new Set<Background>();
  readonly #wallAtStart: number;
  readonly #monoAtStart: number;
  #timer: TimerHandle | null = null;

  constructor(
    clock: Clock,
    policy: BandwidthPolicy,
    onBlockChange: (priority: JobPriority, blocked: boolean) => void,
    yieldOptions: YieldOptions,
  ) {
    this.#clock = clock;
    this.#policy = policy;
    this.#onBlockChange = onBlockChange;
    this.#wallAtStart = clock.wallMs();
    this.#monoAtStart = clock.monotonicMs();
    for (const p of BACKGROUND) {
      this.#buckets.set(p, new TokenBucket(clock, Number.POSITIVE_INFINITY));
      this.#yieldBuckets.set(p, new TokenBucket(clock, Number.POSITIVE_INFINITY, { burstMs: YIELD_BURST_MS }));
    }
    this.#yield = new YieldControl({
      ...yieldOptions,
      clock,
      policy: policy.yield,
      apply: (priority, rate) => this.#yieldBuckets.get(priority)?.setRate(rate),
      limited: (priority) => this.#yieldBuckets.get(priority)?.waiting === true,
    });
    this.#refresh();
  }

  setPolicy(policy: BandwidthPolicy): void {
    this.#policy = policy;
    this.#yield.setPolicy(policy.yield);
    this.#refresh();
  }

  /** How a running job's rate is decided now (null when it is not running). */
  yieldStatus(jobId: string): YieldStatus | null {
    return this.#yield.status(jobId);
  }

  /** The rate of `priority` now (bytes/s; Infinity unlimited; 0 blocked). */
  rateNow(priority: JobPriority): number {
    const now = new Date(this.#wallAtStart + (this.#clock.monotonicMs() - this.#monoAtStart));
    return policyRate(this.#policy, priority, weekTimeOf(now));
  }

  isBlocked(priority: JobPriority): boolean {
    return priority !== 'FOREGROUND' && this.#blocked.has(priority);
  }

  #refresh(): void {
    this.#timer?.cancel();
    for (const p of BACKGROUND) {
      const rate = this.rateNow(p);
      (this.#buckets.get(p) as TokenBucket).setRate(rate);
      const blocked = rate <= 0;
      if (blocked !== this.#blocked.has(p)) {
        if (blocked) this.#blocked.add(p);
        else this.#blocked.delete(p);
        this.#onBlockChange(p, blocked);
      }
    }
    this.#timer = this.#clock.setTimer(REFRESH_MS, () => this.#refresh());
  }

  /** A per-job limit (beyond BITS); 0 removes it. */
  setJobRate(jobId: string, bytesPerSecond: number): void {
    if (bytesPerSecond <= 0) {
      this.#jobBuckets.get(jobId)?.setRate(Number.POSITIVE_INFINITY);
      this.#jobBuckets.delete(jobId);
      return;
    }
    const bucket = this.#jobBuckets.get(jobId);
    if (bucket === undefined) this.#jobBuckets.set(jobId, new TokenBucket(this.#clock, bytesPerSecond));
    else bucket.setRate(bytesPerSecond);
  }

  /**
   * The limiter a run of `job` consumes from (null: unlimited); `release` it when the run ends
   * (a yielding job's controller runs only while one of its priority transfers).
   */
  limiterFor(job: Job): RateLimiter | null {
    if (job.maxBandwidth > 0 && !this.#jobBuckets.has(job.id)) this.setJobRate(job.id, job.maxBandwidth);
    if (job.priority === 'FOREGROUND') return this.#jobBuckets.get(job.id) ?? null;
    const count = this.#yield.attach(job);
    const yieldBucket = this.#yieldBuckets.get(job.priority) as TokenBucket;
    const yielding: RateLimiter | null =
      count === null
        ? null
        : {
            take(bytes: number, signal: AbortSignal): Promise<void> | null {
              count(bytes);
              return yieldBucket.take(bytes, signal);
            },
          };
    return combineLimiters([this.#buckets.get(job.priority) ?? null, yielding, this.#jobBuckets.get(job.id) ?? null]);
  }

  /** A run that took a limiter ended. */
  release(jobId: string): void {
    this.#yield.detach(jobId);
  }

  forget(jobId: string): void {
    this.#jobBuckets.delete(jobId);
  }

  stop(): void {
    this.#timer?.cancel();
    this.#yield.stop();
  }
}
