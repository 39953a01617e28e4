import type { JobInfo, JobSummary } from '../api/bits-manager.ts';
import { jsonBytes, warmListBlocks } from '../api/json-text.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Job } from '../core/index.ts';

/** How long after a job changed its listed view is made in the background (a burst of changes shares one pass). */
export const WARM_DELAY_MS = 50;
/** Views made per event-loop turn by the background pass, so that no call waits behind it for long. */
const WARM_CHUNK = 128;
/**
 * The list's blocks are made at most this often: that pass looks at every queued job (~3 ms for
 * 10,000), so while jobs keep changing it runs once a second, not after every change.
 */
export const BLOCKS_EVERY_MS = 1000;

/** What ListedViews needs of the service. */
export interface ListedViewsParts {
  readonly clock: Clock;
  /** The queue in order, as the store lists it (its queue cache reads only the jobs written since). */
  readonly queue: () => readonly Job[];
  /** Whether the job's view is a function of its record alone (no run, no yielding, no upload-reply). */
  readonly atRest: (job: Job) => boolean;
  /**
   * Whether the job is running: its view would not be kept (it is not at rest), and it changes on;
   * the warm pass leaves it out without reading the queue (its state event once it stops marks it).
   */
  readonly busy: (jobId: string) => boolean;
  /** The job as callers see it now. */
  readonly build: (job: Job) => JobInfo;
}

/**
 * The views of listed jobs. A job at rest is a function of its record, and the store hands back
 * the same record until the job is written, so its view is made once per record, frozen (the API
 * keeps its JSON text beside it, json-text.ts). Making them costs ~10 µs a job: left to the list
 * itself, the first list after 10,000 jobs were queued spent 0.3–0.7 s building views and text
 * (S8's list p99). So a job that changed gets its view and its text made in the background,
 * WARM_DELAY_MS later, a chunk per turn: a list then finds them made. A job that changes again
 * or leaves the queue within that delay (S8's create…cancel cycles), or is running then, costs
 * nothing. Then the
 * list's blocks are joined (at most once a second): making them inside the list cost it a major
 * GC. The passes only fill caches: a list never waits for them, and shows what it would anyway.
 */
export class ListedViews {
  readonly #parts: ListedViewsParts;
  readonly #views = new WeakMap<Job, JobInfo>();
  readonly #summaries = new WeakMap<JobInfo, JobSummary>();
  #lastViews: LastList<JobInfo> | null = null;
  #lastSummaries: LastList<JobSummary> | null = null;
  readonly #touched = new Set<string>();
  #timer: TimerHandle | null = null;
  #blocksTimer: TimerHandle | null = null;
  #blocksAt = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(parts: ListedViewsParts) {
    this.#parts = parts;
  }

  /** The view of a listed job: kept per record while the job is at rest, made anew otherwise. */
  view(job: Job): JobInfo {
    if (!this.#parts.atRest(job)) return this.#parts.build(job);
    let info = this.#views.get(job);
    if (info === undefined) {
      info = Object.freeze(this.#parts.build(job));
      this.#views.set(job, info);
    }
    return info;
  }

  /** The views of listed jobs (enumJobs): the last list's again while it holds the same records at rest. */
  views(jobs: readonly Job[]): JobInfo[] {
    const [made, last] = this.#again(this.#lastViews, jobs, (job) => this.view(job));
    this.#lastViews = last;
    return made;
  }

  /** The summaries of listed jobs (enumJobSummaries), as views(). */
  summaries(jobs: readonly Job[]): JobSummary[] {
    const [made, last] = this.#again(this.#lastSummaries, jobs, (job) => this.summary(job));
    this.#lastSummaries = last;
    return made;
  }

  /**
   * `jobs` made into list items, or the last list's items when it held the same records, each
   * still at rest: a list of 10,000 idle jobs is then identity compares, not 20,000 lookups in
   * the kept views (and json-text.ts finds its whole reply kept the same way).
   */
  #again<T extends object>(
    last: LastList<T> | null,
    jobs: readonly Job[],
    make: (job: Job) => T,
  ): [T[], LastList<T> | null] {
    if (last !== null && last.jobs.length === jobs.length) {
      let same = true;
      for (let i = 0; same && i < jobs.length; i++) {
        const job = jobs[i] as Job;
        same = job === last.jobs[i] && this.#parts.atRest(job);
      }
      if (same) return [last.items.slice(), last];
    }
    const items = jobs.map(make);
    const kept = items.every((item) => Object.isFrozen(item));
    return [items, kept ? { jobs: jobs.slice(), items: items.slice() } : null];
  }

  /** The summary of a listed job (enumJobSummaries), kept per view like the view per record. */
  summary(job: Job): JobSummary {
    const info = this.view(job);
    let summary = this.#summaries.get(info);
    if (summary === undefined) {
      summary = summaryOf(info);
      if (Object.isFrozen(info)) {
        Object.freeze(summary);
        this.#summaries.set(info, summary);
      }
    }
    return summary;
  }

  /** `jobId` changed (an event went out for it): make its view soon, off every caller's path. */
  touched(jobId: string): void {
    if (this.#closed) return;
    this.#touched.add(jobId);
    this.#timer ??= this.#parts.clock.setTimer(WARM_DELAY_MS, () => this.#warm());
  }

  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
    this.#blocksTimer?.cancel();
    this.#blocksTimer = null;
    this.#touched.clear();
    this.#lastViews = null;
    this.#lastSummaries = null;
  }

  #warm(): void {
    this.#timer = null;
    if (this.#closed || this.#touched.size === 0) return;
    // A running job's view is made anew for each list: nothing to warm, and no queue to read for
    // it (a job of 1,000 small files marks itself at each file: a queue read every 50 ms).
    const ids = new Set<string>();
    for (const id of this.#touched) if (!this.#parts.busy(id)) ids.add(id);
    this.#touched.clear();
    if (ids.size === 0) return;
    let queue: readonly Job[];
    try {
      queue = this.#parts.queue();
    } catch {
      return; // the store is closing or failing: the list will say so, this pass only warms
    }
    const changed = queue.filter((job) => ids.has(job.id));
    if (changed.length > 0) this.#warmChunk(changed, 0);
  }

  /** Views and text of `changed`, a chunk per turn; then the list's blocks. */
  #warmChunk(changed: readonly Job[], from: number): void {
    if (this.#closed) return;
    const end = Math.min(changed.length, from + WARM_CHUNK);
    for (let i = from; i < end; i++) {
      const job = changed[i] as Job;
      if (!this.#parts.atRest(job)) continue;
      jsonBytes(this.view(job));
      jsonBytes(this.summary(job));
    }
    if (end < changed.length) setImmediate(() => this.#warmChunk(changed, end));
    else this.#blocksDue();
  }

  /** The list's blocks, BLOCKS_EVERY_MS after the last time they were made (json-text.ts). */
  #blocksDue(): void {
    if (this.#blocksTimer !== null || this.#closed) return;
    const { clock } = this.#parts;
    const wait = Math.max(0, this.#blocksAt + BLOCKS_EVERY_MS - clock.monotonicMs());
    this.#blocksTimer = clock.setTimer(wait, () => {
      this.#blocksTimer = null;
      if (this.#closed) return;
      this.#blocksAt = clock.monotonicMs();
      try {
        const queue = this.#parts.queue();
        warmListBlocks(queue.map((job) => this.view(job)));
        warmListBlocks(queue.map((job) => this.summary(job)));
      } catch {
        // the store is closing or failing: the list will say so, this pass only warms
      }
    });
  }
}

/** A list made before: its records, in order, and the kept items made of them. */
interface LastList<T> {
  readonly jobs: readonly Job[];
  readonly items: readonly T[];
}

/** The fields of a job's view that enumJobSummaries shows (in JobInfo's order). */
function summaryOf(info: JobInfo): JobSummary {
  const { id, type, displayName, owner, state, priority, progress, errorCount } = info;
  return { id, type, displayName, owner, state, priority, progress, errorCount };
}
