import type { JobTimers } from '../core/index.ts';

/**
 * The scheduler's timers as the store holds them, and when they are worth a write.
 *
 * Every state change carries the timers of the new state (`applyTransition(id, { timers })`), and
 * most of them barely moved: a Resume, a run's pick and a Cancel one after another move each
 * elapsed amount by milliseconds. Writing them anyway cost a page of the timers table in every
 * commit (S8: three of the cycle's five commits). So timers are written only when
 *
 * - a value moved by at least `SAVE_STEP_MS` (1 s) from the value last saved, or
 * - a value flips between null and a number (a retry timer or a no-progress window opens or
 *   closes: always exact on disk),
 *
 * and a new job whose timers are all the defaults (0 and null) stores none: a job without a
 * timers row is restored with exactly those defaults.
 *
 * What a kill -9 can cost: each stored amount is at most 1 s behind the one the scheduler had at
 * the job's last state change (always compared with the value last *saved*, never the last one
 * seen, so the gap never adds up over many small moves), on top of the time since that change,
 * which was never saved before either. docs/durability.md and docs/scheduling.md say so.
 */
export const SAVE_STEP_MS = 1000;

/** Timers of a job that has none stored: what a restart takes when the row is missing. */
export const DEFAULT_TIMERS: JobTimers = Object.freeze({
  activeMs: 0,
  noProgressMs: null,
  retryRemainingMs: null,
  inactiveMs: 0,
});

function moved(saved: number | null, next: number | null): boolean {
  if (saved === null || next === null) return saved !== next;
  return Math.abs(next - saved) >= SAVE_STEP_MS;
}

/** Whether `next` must be written over `saved` (the rule above; no saved value: always). */
export function timersMoved(saved: JobTimers | undefined, next: JobTimers): boolean {
  if (saved === undefined) return true;
  return (
    moved(saved.activeMs, next.activeMs) ||
    moved(saved.noProgressMs, next.noProgressMs) ||
    moved(saved.retryRemainingMs, next.retryRemainingMs) ||
    moved(saved.inactiveMs, next.inactiveMs)
  );
}

/** Whether every value is its default (0 or null): a new job with these stores no timers. */
export function isDefaultTimers(t: JobTimers): boolean {
  return t.activeMs === 0 && t.noProgressMs === null && t.retryRemainingMs === null && t.inactiveMs === 0;
}

/**
 * The timers last written for each job this process knows (created here, or read back at start).
 * Asked synchronously right before the store verb that would carry them, and told once that
 * verb returned (its commit succeeded): nothing can interleave in between.
 */
export class SavedTimers {
  readonly #saved = new Map<string, JobTimers>();

  /** The timers to hand to the store with a change of `jobId`, or undefined: none to write. */
  due(jobId: string, next: JobTimers): JobTimers | undefined {
    return timersMoved(this.#saved.get(jobId), next) ? next : undefined;
  }

  /** For createJob: undefined when all are defaults (no row is the same as defaults). */
  initial(timers: JobTimers): JobTimers | undefined {
    return isDefaultTimers(timers) ? undefined : timers;
  }

  /** The store committed `timers` for `jobId` (or, with none given, holds the defaults). */
  stored(jobId: string, timers: JobTimers | undefined): void {
    this.#saved.set(jobId, timers ?? DEFAULT_TIMERS);
  }

  /** The job left the queue (no more state changes). */
  forget(jobId: string): void {
    this.#saved.delete(jobId);
  }
}
