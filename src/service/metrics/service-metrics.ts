/**
 * Prometheus metrics of bitsd, in a prom-client Registry of its own (never the global default).
 * Fed from outside the data path: the manager's events (already coalesced, ≤ 10 progress events
 * per second per job) and two timing hooks (checkpoint, store commit); the queue's composition and
 * the event-stream subscribers are read only when someone scrapes. Nothing here runs per chunk.
 */

import type { ManagerEvent } from '../../api/bits-manager.ts';
import {
  type Clock,
  isFinalState,
  isUploadType,
  JOB_PRIORITIES,
  JOB_STATES,
  type Job,
  type JobPriority,
  type JobState,
  type JobType,
  jobProgress,
} from '../../core/index.ts';
import { ProcessMetrics } from './process-metrics.ts';
import { Counter, Gauge, Histogram, Registry } from './prom-classes.ts';
import { RateWindow } from './rate-window.ts';

/** Which way a job's bytes go. */
export type Direction = 'download' | 'upload';

/** What the metrics read from the service when they need it. */
export interface MetricsSources {
  /** Jobs in the queue by state and priority (called at scrape time). */
  jobCounts(): Iterable<{ readonly state: JobState; readonly priority: JobPriority; readonly count: number }>;
  /** Open event subscribers (event streams of the API, in-process listeners). */
  subscribers(): number;
  /** A job as stored now (undefined for an unknown job). */
  job(jobId: string): StoredJob | undefined;
}

/**
 * What the metrics need of a job's record: its type, the bytes its last checkpoint covers (where
 * a run resumes) and its current error's BITS name.
 */
export interface StoredJob {
  readonly type: JobType;
  readonly bytesTransferred: number;
  readonly errorName: string | null;
}

/** A record's StoredJob. */
export function storedJob(job: Job): StoredJob {
  return {
    type: job.type,
    bytesTransferred: jobProgress(job.files).bytesTransferred,
    errorName: job.error?.name ?? null,
  };
}

/** The timing hooks: `checkpoint` = fdatasync + recorded offset; `commit` = a store commit made durable. */
export type TimedStep = 'checkpoint' | 'commit';

/** Where the service reports how long a step took (seconds). */
export type StepTimer = (step: TimedStep, seconds: number) => void;

/** Latency buckets in seconds: a sync on tmpfs (µs) up to a loaded disk (seconds). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** States a queued job can be in (final ones leave the queue). */
const QUEUE_STATES = JOB_STATES.filter((s) => !isFinalState(s));

/** Per-job memory: where its byte count stood, and its last error (for the retry's label). */
interface Tracked {
  direction: Direction;
  bytes: number;
  lastError: string | null;
}

export interface ServiceMetricsOptions {
  readonly clock: Clock;
  readonly sources: MetricsSources;
  /** Reported as `openbits_info{version}`. */
  readonly version: string;
  /** Seconds the transfer-rate gauge averages over (default 10). */
  readonly rateWindowSeconds?: number;
}

/** bitsd's metrics: feed `onEvent` from the manager's events and the timing hooks; scrape `text()`. */
export class ServiceMetrics {
  /** This instance's registry. */
  readonly registry = new Registry();
  readonly #clock: Clock;
  readonly #sources: MetricsSources;
  readonly #jobs = new Map<string, Tracked>();
  readonly #rates: Record<Direction, RateWindow>;
  readonly #bytes: Counter<'direction'>;
  readonly #states: Counter<'state'>;
  readonly #errors: Counter<'code' | 'kind'>;
  readonly #retries: Counter<'code'>;
  readonly #latency: Record<TimedStep, Histogram>;
  readonly #webhooks: Counter<'outcome'>;
  readonly #process: ProcessMetrics;

  constructor(options: ServiceMetricsOptions) {
    this.#clock = options.clock;
    this.#sources = options.sources;
    const seconds = options.rateWindowSeconds ?? 10;
    this.#rates = { download: new RateWindow(seconds), upload: new RateWindow(seconds) };
    const registers = [this.registry];
    const sources = this.#sources;
    const clock = this.#clock;
    const rates = this.#rates;

    new Gauge({
      name: 'openbits_info',
      help: 'Always 1; the labels say which bitsd this is',
      labelNames: ['version'],
      registers,
    }).set({ version: options.version }, 1);
    new Gauge({
      name: 'openbits_jobs',
      help: 'Jobs in the queue by state and priority',
      labelNames: ['state', 'priority'],
      registers,
      collect() {
        this.reset();
        // Every combination, 0 included, so a state that empties shows 0 rather than vanishing.
        for (const state of QUEUE_STATES) for (const priority of JOB_PRIORITIES) this.set({ state, priority }, 0);
        for (const c of sources.jobCounts()) this.inc({ state: c.state, priority: c.priority }, c.count);
      },
    });
    this.#bytes = new Counter({
      name: 'openbits_transferred_bytes_total',
      help: 'Bytes moved by jobs, by direction (from progress; bytes re-fetched after a crash count again)',
      labelNames: ['direction'],
      registers,
    });
    new Gauge({
      name: 'openbits_transfer_rate_bytes_per_second',
      help: `Bytes per second by direction, averaged over the last ${seconds} whole seconds`,
      labelNames: ['direction'],
      registers,
      collect() {
        const now = clock.monotonicMs();
        this.set({ direction: 'download' }, rates.download.rate(now));
        this.set({ direction: 'upload' }, rates.upload.rate(now));
      },
    });
    this.#states = new Counter({
      name: 'openbits_job_state_changes_total',
      help: 'Jobs entering each state (CREATED counts new jobs)',
      labelNames: ['state'],
      registers,
    });
    this.#errors = new Counter({
      name: 'openbits_job_errors_total',
      help: 'Jobs entering TRANSIENT_ERROR (kind="transient") or ERROR (kind="fatal"), by BITS error name',
      labelNames: ['code', 'kind'],
      registers,
    });
    this.#retries = new Counter({
      name: 'openbits_job_retries_total',
      help: 'Retries: jobs leaving TRANSIENT_ERROR for QUEUED, by the BITS error they retry after',
      labelNames: ['code'],
      registers,
    });
    this.#latency = {
      checkpoint: new Histogram({
        name: 'openbits_checkpoint_seconds',
        help: 'A checkpoint: fdatasync of the temp file, then the offset recorded in the store',
        buckets: LATENCY_BUCKETS,
        registers,
      }),
      commit: new Histogram({
        name: 'openbits_store_commit_seconds',
        help: 'A store change until it is durable (commit and fsync; group commit shares one)',
        buckets: LATENCY_BUCKETS,
        registers,
      }),
    };
    this.#webhooks = new Counter({
      name: 'openbits_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), failed (retried later), abandoned (last attempt)',
      labelNames: ['outcome'],
      registers,
    });
    new Gauge({
      name: 'openbits_event_subscribers',
      help: 'Open event subscribers (API event streams and in-process listeners)',
      registers,
      collect() {
        this.set(sources.subscribers());
      },
    });
    this.#process = new ProcessMetrics(this.registry);
  }

  /**
   * Feed one manager event (tap the event hub). `job`: the record as the change behind a
   * `job:state` event committed it, when the hub has it (else the store is asked).
   */
  onEvent(event: ManagerEvent, job?: Job): void {
    switch (event.type) {
      case 'job:created':
        this.#states.inc({ state: 'CREATED' });
        return;
      case 'job:progress':
        this.#progress(event.jobId, event.progress.bytesTransferred);
        return;
      case 'job:state':
        this.#state(event.jobId, event.state, event.previous, job);
        return;
      default:
        return;
    }
  }

  /** Record how long a step took (seconds). */
  observe(step: TimedStep, seconds: number): void {
    this.#latency[step].observe(seconds);
  }

  /** A webhook attempt ended. */
  webhookAttempt(outcome: 'delivered' | 'failed' | 'abandoned'): void {
    this.#webhooks.inc({ outcome });
  }

  /** Start timing a step on the injected clock; call the result when it is done. */
  time(step: TimedStep): () => void {
    const started = this.#clock.monotonicMs();
    return () => this.observe(step, (this.#clock.monotonicMs() - started) / 1000);
  }

  /** The text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stop the event-loop monitor. */
  close(): void {
    this.#process.close();
  }

  #state(jobId: string, state: JobState, previous: JobState, job: Job | undefined): void {
    this.#states.inc({ state });
    if (isFinalState(state)) {
      this.#jobs.delete(jobId);
      return;
    }
    if (state === 'CONNECTING') {
      // A run starts from the last checkpoint: bytes above it are moved again, and count again.
      this.#track(jobId, true, job);
      return;
    }
    if (state === 'ERROR' || state === 'TRANSIENT_ERROR') {
      const code = (job === undefined ? this.#sources.job(jobId)?.errorName : job.error?.name) ?? 'UNKNOWN';
      this.#errors.inc({ code, kind: state === 'ERROR' ? 'fatal' : 'transient' });
      const tracked = this.#track(jobId, false, job);
      if (tracked !== undefined) tracked.lastError = code;
      return;
    }
    if (state === 'QUEUED' && previous === 'TRANSIENT_ERROR') {
      this.#retries.inc({ code: this.#jobs.get(jobId)?.lastError ?? 'UNKNOWN' });
    }
  }

  /** The job's entry; `fromStore` re-reads where its bytes stand (from `known` when given). */
  #track(jobId: string, fromStore: boolean, known?: Job): Tracked | undefined {
    let tracked = this.#jobs.get(jobId);
    if (tracked !== undefined && !fromStore) return tracked;
    const stored = known === undefined ? this.#sources.job(jobId) : storedJob(known);
    if (stored === undefined) return tracked;
    const direction: Direction = isUploadType(stored.type) ? 'upload' : 'download';
    if (tracked === undefined) {
      tracked = { direction, bytes: stored.bytesTransferred, lastError: null };
      this.#jobs.set(jobId, tracked);
    } else {
      tracked.bytes = stored.bytesTransferred;
    }
    return tracked;
  }

  #progress(jobId: string, bytes: number): void {
    const tracked = this.#jobs.get(jobId) ?? this.#track(jobId, true);
    if (tracked === undefined) return;
    const delta = bytes - tracked.bytes;
    tracked.bytes = bytes;
    // Fewer bytes than before: the file restarted (changed on the server); nothing moved yet.
    if (delta <= 0) return;
    this.#bytes.inc({ direction: tracked.direction }, delta);
    this.#rates[tracked.direction].add(delta, this.#clock.monotonicMs());
  }
}
