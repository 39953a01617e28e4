import type { JobPriority } from '../core/index.ts';

/** What the planner needs to know of a job that wants to run or is running. */
export interface PlanJob {
  readonly id: string;
  readonly priority: JobPriority;
  readonly running: boolean;
  /** Order of entering QUEUED: lower runs first (a job back from its slice goes last). */
  readonly queuedSeq: number;
  /** Monotonic ms when it started running (running jobs only). */
  readonly runningSince: number | null;
}

export interface PlanPolicy {
  /** Background jobs transferring at once (BITS: 1). */
  readonly maxBackgroundJobs: number;
  /** Round-robin slice among background jobs of one priority. */
  readonly timeSliceMs: number;
}

export interface Plan {
  readonly start: readonly string[];
  /** Running jobs to put back to QUEUED (preempted by a higher priority, or slice over). */
  readonly preempt: readonly string[];
  /** When the next slice of a running job ends and another waits for it (null: none). */
  readonly nextSliceEndMs: number | null;
}

const BACKGROUND: readonly JobPriority[] = ['HIGH', 'NORMAL', 'LOW'];

/**
 * The scheduling rules of bits-client.md §3.3, as a pure function:
 * 1. every FOREGROUND job runs, beside the background ones;
 * 2. background jobs run strictly by priority: a lower one gets nothing while a higher one can run;
 * 3. jobs of one priority share `maxBackgroundJobs` places by round-robin time slices.
 */
export function planSchedule(jobs: readonly PlanJob[], nowMs: number, policy: PlanPolicy): Plan {
  const start: string[] = [];
  const preempt: string[] = [];
  const byQueue = (a: PlanJob, b: PlanJob): number => a.queuedSeq - b.queuedSeq;

  for (const j of jobs) if (j.priority === 'FOREGROUND' && !j.running) start.push(j.id);

  const background = jobs.filter((j) => j.priority !== 'FOREGROUND');
  const top = BACKGROUND.find((p) => background.some((j) => j.priority === p));
  if (top === undefined) return { start, preempt, nextSliceEndMs: null };

  for (const j of background) if (j.running && j.priority !== top) preempt.push(j.id);

  const waiting = background.filter((j) => j.priority === top && !j.running).sort(byQueue);
  const running = background
    .filter((j) => j.priority === top && j.running)
    .sort((a, b) => (a.runningSince ?? 0) - (b.runningSince ?? 0));

  // Slices end for the longest-running jobs first, one per waiting job.
  let sliceEnds = 0;
  let nextSliceEndMs: number | null = null;
  const keep: PlanJob[] = [];
  for (const j of running) {
    const end = (j.runningSince ?? nowMs) + policy.timeSliceMs;
    if (sliceEnds < waiting.length && end <= nowMs) {
      preempt.push(j.id);
      sliceEnds++;
    } else {
      keep.push(j);
      if (waiting.length > 0 && (nextSliceEndMs === null || end < nextSliceEndMs)) nextSliceEndMs = end;
    }
  }
  const free = Math.max(0, policy.maxBackgroundJobs - keep.length);
  for (const j of waiting.slice(0, free)) start.push(j.id);
  if (waiting.length <= free) nextSliceEndMs = null;
  return { start, preempt, nextSliceEndMs };
}
