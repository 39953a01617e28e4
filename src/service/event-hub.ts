import type { ManagerEvent } from '../api/bits-manager.ts';
import { EventQueue } from '../api/event-queue.ts';
import { type Clock, type Job, type JobProgress, NotifyFlag, normalizeJobId } from '../core/index.ts';

type Listener = (event: ManagerEvent) => void;
/**
 * An observer inside the service. `job`: the record as the change behind a `job:state` event
 * committed it, when the emitter has it (so a tap need not read the store again: by the time the
 * event goes out, after the sync, a Cancel may have taken the job out of the store's caches).
 */
export type Tap = (event: ManagerEvent, job?: Job) => void;
/** Which jobs a subscriber may hear of (system mode: a user's own). */
type Visible = (jobId: string) => boolean;

/** What a subscriber listens to: one job, and only jobs it may see. */
export interface EventFilter {
  readonly jobId?: string;
  readonly sees?: Visible;
}

/**
 * The events that are BITS notifications, which a job's NotifyFlags govern (bits-client.md
 * §6.1), and the flag each needs: JobTransferred, JobError; JobModification and FileTransferred
 * stop only with BG_NOTIFY_DISABLE here, since watchers (the dashboard, /monitor) follow them.
 * job:created, job:state and job:progress are the status feed and always flow.
 */
const NOTIFICATION_FLAG: Partial<Record<ManagerEvent['type'], number>> = {
  'job:transferred': NotifyFlag.JOB_TRANSFERRED,
  'job:error': NotifyFlag.JOB_ERROR,
  'job:modified': 0,
  'file:transferred': 0,
};

/** Whether a subscriber gets `type` for a job with these NotifyFlags. */
export function notifies(type: ManagerEvent['type'], flags: number): boolean {
  const needs = NOTIFICATION_FLAG[type];
  if (needs === undefined) return true;
  if ((flags & NotifyFlag.DISABLE) !== 0) return false;
  return (flags & needs) === needs;
}

/** Progress events per job are coalesced to at most this many per second. */
const MAX_PROGRESS_PER_SECOND = 10;

/**
 * Fan-out of manager events to subscribers, with progress coalescing (≤ 10/s per job, the
 * latest value wins) so a fast transfer cannot flood the event loop or an API client. A running
 * job's `file:transferred` goes out right after a progress event that counts it, held back with
 * that progress when one went out < 100 ms before (a progress event per file, as before, was
 * half of a 1,000-file job's stream). Any other
 * event of the job first flushes both, so the order is kept. Each job's NotifyFlags filter the
 * notifications its subscribers get; a subscriber to one job that is already TRANSFERRED or
 * ERROR gets that notification at once, as a BITS callback registered after the event is still
 * called.
 */
export class EventHub {
  readonly #listeners = new Set<{ fn: Listener; jobId: string | undefined; sees: Visible | undefined }>();
  /** Observers inside the service (metrics): they see every event and are no subscribers. */
  readonly #taps = new Set<Tap>();
  readonly #lastProgressAt = new Map<string, number>();
  readonly #pendingProgress = new Map<string, JobProgress | (() => JobProgress)>();
  /** How a running job's progress is totalled (its run's live files), until the run ends. */
  readonly #progressSource = new Map<string, () => JobProgress>();
  /** `file:transferred` events waiting behind a job's held-back progress, in order. */
  readonly #heldFiles = new Map<string, ManagerEvent[]>();
  readonly #clock: Clock;
  /** NotifyFlags of the jobs in the queue (a job not here is not filtered). */
  readonly #flags = new Map<string, number>();
  /** The job's TRANSFERRED or ERROR notification when it is in that state now. */
  readonly #outcome: (jobId: string) => ManagerEvent | undefined;
  #closed = false;
  readonly #closeWaiters = new Set<() => void>();

  constructor(clock: Clock, outcome: (jobId: string) => ManagerEvent | undefined = () => undefined) {
    this.#clock = clock;
    this.#outcome = outcome;
  }

  /** A job's NotifyFlags now (null: the job left the queue). */
  notifyFlags(jobId: string, flags: number | null): void {
    if (flags === null) {
      this.#flags.delete(jobId);
      this.#lastProgressAt.delete(jobId);
      this.#progressSource.delete(jobId);
    } else this.#flags.set(jobId, flags);
  }

  /** `job`: the record as the change behind the event committed it (given to the taps only). */
  emit(event: ManagerEvent, job?: Job): void {
    if (event.type === 'job:progress') {
      this.#progress(event.jobId, event.progress);
      return;
    }
    if (event.type === 'file:transferred') {
      this.#fileTransferred(event);
      return;
    }
    if (event.type === 'job:state' && event.state !== 'CONNECTING' && event.state !== 'TRANSFERRING') {
      this.#progressSource.delete(event.jobId);
    }
    // Any other event flushes pending progress (and the files behind it) first: order is kept.
    if (event.type !== 'job:created') this.flushProgress(event.jobId);
    this.#deliver(event, job);
  }

  /**
   * A file goes out after a progress event that counts it: the run's progress is totalled anew
   * (now, or held back ≤ 100 ms when one went out just before) and the file waits behind it.
   */
  #fileTransferred(event: Extract<ManagerEvent, { type: 'file:transferred' }>): void {
    const source = this.#progressSource.get(event.jobId);
    if (source !== undefined) this.#progress(event.jobId, source);
    if (!this.#pendingProgress.has(event.jobId)) {
      this.#deliver(event);
      return;
    }
    const held = this.#heldFiles.get(event.jobId);
    if (held === undefined) this.#heldFiles.set(event.jobId, [event]);
    else held.push(event);
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
    if (typeof progress === 'function') this.#progressSource.set(jobId, progress);
    const now = this.#clock.monotonicMs();
    const last = this.#lastProgressAt.get(jobId);
    const gap = 1000 / MAX_PROGRESS_PER_SECOND;
    if (last === undefined || now - last >= gap) {
      // Delivered now, with any files that waited behind an older value.
      this.#pendingProgress.set(jobId, progress);
      this.flushProgress(jobId);
      return;
    }
    const scheduled = this.#pendingProgress.has(jobId);
    this.#pendingProgress.set(jobId, progress);
    if (!scheduled) this.#clock.setTimer(gap - (now - last), () => this.flushProgress(jobId));
  }

  /** Deliver a held-back progress event now, then the files that waited behind it. */
  flushProgress(jobId: string): void {
    const pending = this.#pendingProgress.get(jobId);
    if (pending === undefined) return;
    this.#pendingProgress.delete(jobId);
    this.#lastProgressAt.set(jobId, this.#clock.monotonicMs());
    this.#deliver({ type: 'job:progress', jobId, progress: progressOf(pending) });
    const held = this.#heldFiles.get(jobId);
    if (held === undefined) return;
    this.#heldFiles.delete(jobId);
    for (const event of held) this.#deliver(event);
  }

  #deliver(event: ManagerEvent, job?: Job): void {
    for (const tap of this.#taps) tap(event, job);
    const flags = this.#flags.get(event.jobId);
    if (flags !== undefined && !notifies(event.type, flags)) return;
    for (const l of this.#listeners) {
      if (l.jobId !== undefined && l.jobId !== event.jobId) continue;
      if (l.sees !== undefined && !l.sees(event.jobId)) continue;
      try {
        l.fn(event);
      } catch {
        // A throwing listener must not break the transfer that emitted the event.
      }
    }
  }

  /** Observe every event as delivered, without counting as a subscriber; `fn` must not throw. */
  tap(fn: Tap): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  /** Subscribers now (API event streams, in-process listeners). */
  get size(): number {
    return this.#listeners.size;
  }

  subscribe(fn: Listener, filter?: EventFilter): () => void {
    // Any spelling of a GUID ({…}, upper case) names the same job.
    const jobId = filter?.jobId === undefined ? undefined : (normalizeJobId(filter.jobId) ?? filter.jobId);
    const entry = { fn, jobId, sees: filter?.sees };
    this.#listeners.add(entry);
    if (jobId !== undefined) {
      // Registered after the job's outcome: it is told at once (after subscribe has returned).
      queueMicrotask(() => {
        const outcome = this.#listeners.has(entry) ? this.#outcome(jobId) : undefined;
        if (outcome === undefined || !notifies(outcome.type, this.#flags.get(jobId) ?? 0)) return;
        try {
          fn(outcome);
        } catch {
          // As in #deliver: a throwing listener breaks nothing.
        }
      });
    }
    return () => this.#listeners.delete(entry);
  }

  /** Events as an async iterator; ends when `signal` aborts or the hub closes. */
  async *iterate(options: EventFilter & { signal?: AbortSignal } = {}): AsyncIterable<ManagerEvent> {
    const queue = new EventQueue<ManagerEvent>();
    const unsubscribe = this.subscribe((e) => queue.push(e), {
      ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
      ...(options.sees === undefined ? {} : { sees: options.sees }),
    });
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
