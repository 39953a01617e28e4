import type { ManagerEvent } from '../api/bits-manager.ts';
import { EventQueue } from '../api/event-queue.ts';
import { type Clock, type JobProgress, normalizeJobId } from '../core/index.ts';

type Listener = (event: ManagerEvent) => void;

/** Progress events per job are coalesced to at most this many per second. */
const MAX_PROGRESS_PER_SECOND = 10;

/**
 * Fan-out of manager events to subscribers, with progress coalescing (≤ 10/s per job, the
 * latest value wins) so a fast transfer cannot flood the event loop or an API client.
 */
export class EventHub {
  readonly #listeners = new Set<{ fn: Listener; jobId: string | undefined }>();
  /** Observers inside the service (metrics): they see every event and are no subscribers. */
  readonly #taps = new Set<Listener>();
  readonly #lastProgressAt = new Map<string, number>();
  readonly #pendingProgress = new Map<string, JobProgress | (() => JobProgress)>();
  readonly #clock: Clock;
  #closed = false;
  readonly #closeWaiters = new Set<() => void>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  emit(event: ManagerEvent): void {
    if (event.type === 'job:progress') {
      this.#progress(event.jobId, event.progress);
      return;
    }
    // A state change flushes pending progress first so listeners see them in order.
    if (event.type !== 'job:created') this.flushProgress(event.jobId);
    this.#deliver(event);
  }

  /**
   * A job's progress, computed only when it is delivered (at most 10 times a second): a run
   * reports after every write of every file, and totalling a job of 1,000 files on each report
   * would cost O(files) per write.
   */
  progress(jobId: string, compute: () => JobProgress): void {
    this.#progress(jobId, compute);
  }

  #progress(jobId: string, progress: JobProgress | (() => JobProgress)): void {
    const now = this.#clock.monotonicMs();
    const last = this.#lastProgressAt.get(jobId);
    const gap = 1000 / MAX_PROGRESS_PER_SECOND;
    if (last === undefined || now - last >= gap) {
      this.#lastProgressAt.set(jobId, now);
      this.#pendingProgress.delete(jobId);
      this.#deliver({ type: 'job:progress', jobId, progress: progressOf(progress) });
      return;
    }
    const scheduled = this.#pendingProgress.has(jobId);
    this.#pendingProgress.set(jobId, progress);
    if (!scheduled) this.#clock.setTimer(gap - (now - last), () => this.flushProgress(jobId));
  }

  /** Deliver a held-back progress event now. */
  flushProgress(jobId: string): void {
    const pending = this.#pendingProgress.get(jobId);
    if (pending === undefined) return;
    this.#pendingProgress.delete(jobId);
    this.#lastProgressAt.set(jobId, this.#clock.monotonicMs());
    this.#deliver({ type: 'job:progress', jobId, progress: progressOf(pending) });
  }

  #deliver(event: ManagerEvent): void {
    for (const tap of this.#taps) tap(event);
    for (const l of this.#listeners) {
      if (l.jobId !== undefined && l.jobId !== event.jobId) continue;
      try {
        l.fn(event);
      } catch {
        // A throwing listener must not break the transfer that emitted the event.
      }
    }
  }

  /** Observe every event as delivered, without counting as a subscriber; `fn` must not throw. */
  tap(fn: Listener): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  /** Subscribers now (API event streams, in-process listeners). */
  get size(): number {
    return this.#listeners.size;
  }

  subscribe(fn: Listener, filter?: { jobId?: string }): () => void {
    // Any spelling of a GUID ({…}, upper case) names the same job.
    const jobId = filter?.jobId === undefined ? undefined : (normalizeJobId(filter.jobId) ?? filter.jobId);
    const entry = { fn, jobId };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /** Events as an async iterator; ends when `signal` aborts or the hub closes. */
  async *iterate(options: { jobId?: string; signal?: AbortSignal } = {}): AsyncIterable<ManagerEvent> {
    const queue = new EventQueue<ManagerEvent>();
    const unsubscribe = this.subscribe(
      (e) => queue.push(e),
      options.jobId === undefined ? undefined : { jobId: options.jobId },
    );
    // Whoever stops listening (abort, close) wants no backlog.
    const stop = (): void => queue.end({ drop: true });
    options.signal?.addEventListener('abort', stop);
    this.#closeWaiters.add(stop);
    if (this.#closed || options.signal?.aborted === true) stop();
    try {
      yield* queue;
    } finally {
      unsubscribe();
      options.signal?.removeEventListener('abort', stop);
      this.#closeWaiters.delete(stop);
    }
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#closeWaiters) w();
    this.#listeners.clear();
    this.#taps.clear();
  }
}

function progressOf(progress: JobProgress | (() => JobProgress)): JobProgress {
  return typeof progress === 'function' ? progress() : progress;
}
