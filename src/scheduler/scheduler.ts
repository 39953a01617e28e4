import type { Clock, JobPriority, JobTimers, TimerHandle } from '../core/index.ts';
import { type PlanJob, type PlanPolicy, planSchedule } from './plan.ts';

/** What the scheduler asks the service to do. Each call is about one job. */
export interface SchedulerActions {
  /** Move QUEUED → CONNECTING and start transferring. */
  start(jobId: string): void;
  /** Stop the transfer and put the job back to QUEUED (slice over / higher priority). */
  preempt(jobId: string): void;
  /** MinimumRetryDelay (or Retry-After) elapsed in TRANSIENT_ERROR. */
  retryDue(jobId: string): void;
  /** NoProgressTimeout elapsed since the first transient error without progress. */
  noProgressTimeout(jobId: string): void;
  /** Time in CONNECTING+TRANSFERRING since the last Resume exceeded MaximumDownloadTime. */
  maxDownloadTime(jobId: string): void;
  /** No activity for JobInactivityTimeout. */
  inactivityTimeout(jobId: string): void;
}

export interface SchedulerPolicy extends PlanPolicy {
  readonly jobInactivityTimeoutMs: number;
}

/** Where a job stands for the scheduler: not schedulable, in line, transferring, or in TRANSIENT_ERROR. */
export type SchedulerPhase = 'idle' | 'queued' | 'running' | 'waiting';

interface Entry {
  priority: JobPriority;
  phase: SchedulerPhase;
  queuedSeq: number;
  runningSince: number | null;
  /** CONNECTING+TRANSFERRING time before the current run. */
  activeMs: number;
  maxDownloadMs: number;
  maxTimer: TimerHandle | null;
  /** Monotonic start of the no-progress window (first transient error since progress). */
  noProgressSince: number | null;
  noProgressTimeoutMs: number;
  noProgressTimer: TimerHandle | null;
  retryAt: number | null;
  retryTimer: TimerHandle | null;
  lastActivity: number;
}

/**
 * Decides when jobs run and when their timers fire (bits-client.md §2.2, §3.3), on an
 * injected clock. It holds timing state in memory; `timers()` gives it as elapsed amounts for
 * the store, and `restore()` takes it back after a restart, so timers survive one.
 */
export class Scheduler {
  readonly #clock: Clock;
  readonly #actions: SchedulerActions;
  #policy: SchedulerPolicy;
  readonly #jobs = new Map<string, Entry>();
  /**
   * Queued jobs per priority in queue order (a Set keeps insertion order; re-queuing moves a job
   * to the end) and the running ones: planning looks only at the heads of the lines, so its cost
   * does not grow with the number of queued jobs.
   */
  readonly #lines = new Map<JobPriority, Set<string>>([
    ['FOREGROUND', new Set()],
    ['HIGH', new Set()],
    ['NORMAL', new Set()],
    ['LOW', new Set()],
  ]);
  readonly #runningIds = new Set<string>();
  #seq = 0;
  #planPending = false;
  #sliceTimer: TimerHandle | null = null;
  #inactivityTimer: { handle: TimerHandle; due: number } | null = null;
  #stopped = false;

  constructor(clock: Clock, policy: SchedulerPolicy, actions: SchedulerActions) {
    this.#clock = clock;
    this.#policy = policy;
    this.#actions = actions;
  }

  setPolicy(policy: SchedulerPolicy): void {
    this.#policy = policy;
    this.#armInactivity();
    this.kick();
  }

  #entry(jobId: string): Entry {
    let e = this.#jobs.get(jobId);
    if (e === undefined) {
      e = {
        priority: 'NORMAL',
        phase: 'idle',
        queuedSeq: 0,
        runningSince: null,
        activeMs: 0,
        maxDownloadMs: Number.POSITIVE_INFINITY,
        maxTimer: null,
        noProgressSince: null,
        noProgressTimeoutMs: Number.POSITIVE_INFINITY,
        noProgressTimer: null,
        retryAt: null,
        retryTimer: null,
        lastActivity: this.#clock.monotonicMs(),
      };
      this.#jobs.set(jobId, e);
      this.#armInactivity();
    }
    return e;
  }

  /** Register or update a job's scheduling properties. */
  track(jobId: string, props: { priority: JobPriority; maxDownloadTimeS: number; noProgressTimeoutS: number }): void {
    const e = this.#entry(jobId);
    const priorityChanged = e.priority !== props.priority;
    if (priorityChanged && e.phase === 'queued') {
      this.#lines.get(e.priority)?.delete(jobId);
      this.#lines.get(props.priority)?.add(jobId);
      e.queuedSeq = ++this.#seq;
    }
    e.priority = props.priority;
    e.maxDownloadMs = props.maxDownloadTimeS * 1000;
    e.noProgressTimeoutMs = props.noProgressTimeoutS * 1000;
    if (e.phase === 'running') this.#armMax(jobId, e);
    if (e.phase === 'waiting' && e.noProgressSince !== null) this.#armNoProgress(jobId, e);
    if (priorityChanged) this.kick();
  }

  /** The job entered QUEUED: it goes to the back of its priority's line. */
  queued(jobId: string): void {
    const e = this.#entry(jobId);
    this.#leaveRunning(e);
    this.#clearRetry(e);
    this.#setPhase(jobId, e, 'queued');
    e.queuedSeq = ++this.#seq;
    this.kick();
  }

  /** The job entered CONNECTING (TRANSFERRING after it changes nothing: the run goes on). */
  running(jobId: string): void {
    const e = this.#entry(jobId);
    this.#clearRetry(e);
    // Restarting the clock here would drop the time spent connecting from MaxDownloadTime.
    if (e.phase === 'running') return;
    this.#setPhase(jobId, e, 'running');
    e.runningSince = this.#clock.monotonicMs();
    this.#armMax(jobId, e);
    // Plan again: the time slice of a job that started after the last plan needs its timer, and
    // a start that waited (behind a call, or for its pick's sync) may find the line changed.
    this.kick();
  }

  /**
   * The job entered TRANSIENT_ERROR: retry after `retryDelayMs`; the no-progress window starts
   * now unless it is already open. `countsForNoProgress` is false for network loss and
   * policy blocks, which wait for their condition instead of a timer.
   */
  transient(jobId: string, retryDelayMs: number | null): void {
    const e = this.#entry(jobId);
    this.#leaveRunning(e);
    this.#setPhase(jobId, e, 'waiting');
    this.#clearRetry(e);
    if (retryDelayMs !== null) {
      if (e.noProgressSince === null) e.noProgressSince = this.#clock.monotonicMs();
      this.#armNoProgress(jobId, e);
      e.retryAt = this.#clock.monotonicMs() + retryDelayMs;
      e.retryTimer = this.#clock.setTimer(retryDelayMs, () => {
        e.retryTimer = null;
        e.retryAt = null;
        if (!this.#stopped) this.#actions.retryDue(jobId);
      });
    }
    this.kick();
  }

  /** SUSPENDED, ERROR, TRANSFERRED: not schedulable, timers stop. */
  idle(jobId: string): void {
    const e = this.#entry(jobId);
    this.#leaveRunning(e);
    this.#clearRetry(e);
    this.#clearNoProgress(e);
    this.#setPhase(jobId, e, 'idle');
    this.kick();
  }

  /** ACKNOWLEDGED, CANCELLED: forget the job. */
  remove(jobId: string): void {
    const e = this.#jobs.get(jobId);
    if (e === undefined) return;
    this.#leaveRunning(e);
    this.#clearRetry(e);
    this.#clearNoProgress(e);
    this.#setPhase(jobId, e, 'idle');
    this.#jobs.delete(jobId);
    this.kick();
  }

  /** Bytes moved: the no-progress window closes; activity resets inactivity. */
  progress(jobId: string): void {
    const e = this.#jobs.get(jobId);
    if (e === undefined) return;
    e.lastActivity = this.#clock.monotonicMs();
    this.#clearNoProgress(e);
  }

  /** A method call or property change: resets the inactivity timer. */
  touch(jobId: string): void {
    this.#entry(jobId).lastActivity = this.#clock.monotonicMs();
  }

  /** Resume resets the MaxDownloadTime count. */
  resetActiveTime(jobId: string): void {
    const e = this.#entry(jobId);
    e.activeMs = 0;
    if (e.runningSince !== null) e.runningSince = this.#clock.monotonicMs();
  }

  /** Whether the no-progress window has run out (checked when a retry comes due). */
  noProgressExpired(jobId: string): boolean {
    const e = this.#jobs.get(jobId);
    if (e?.noProgressSince == null) return false;
    return this.#clock.monotonicMs() - e.noProgressSince >= e.noProgressTimeoutMs;
  }

  /** Timing state as elapsed amounts, for the store. */
  timers(jobId: string): JobTimers {
    const e = this.#entry(jobId);
    const now = this.#clock.monotonicMs();
    return {
      activeMs: e.activeMs + (e.runningSince === null ? 0 : now - e.runningSince),
      noProgressMs: e.noProgressSince === null ? null : now - e.noProgressSince,
      retryRemainingMs: e.retryAt === null ? null : Math.max(0, e.retryAt - now),
      inactiveMs: now - e.lastActivity,
    };
  }

  /**
   * The timers as they will be once the job has entered `phase` now (what queued/running/
   * transient/idle would leave), computed without changing anything: the service saves them with
   * the state change and calls the matching method only after that commit.
   */
  timersOnEntering(jobId: string, phase: SchedulerPhase, retryDelayMs: number | null = null): JobTimers {
    const now = this.timers(jobId);
    switch (phase) {
      case 'idle':
        return { ...now, noProgressMs: null, retryRemainingMs: null };
      case 'waiting':
        if (retryDelayMs === null) return { ...now, retryRemainingMs: null };
        return { ...now, noProgressMs: now.noProgressMs ?? 0, retryRemainingMs: retryDelayMs };
      default:
        return { ...now, retryRemainingMs: null };
    }
  }

  /** After a restart: take the stored elapsed amounts back. */
  restore(jobId: string, timers: JobTimers): void {
    const e = this.#entry(jobId);
    const now = this.#clock.monotonicMs();
    e.activeMs = timers.activeMs;
    e.noProgressSince = timers.noProgressMs === null ? null : now - timers.noProgressMs;
    e.lastActivity = now - timers.inactiveMs;
    this.#armInactivity();
  }

  /** Re-plan soon (coalesced into one plan per tick). */
  kick(): void {
    if (this.#planPending || this.#stopped) return;
    this.#planPending = true;
    queueMicrotask(() => {
      this.#planPending = false;
      this.#plan();
    });
  }

  #setPhase(jobId: string, e: Entry, phase: Entry['phase']): void {
    if (e.phase === 'queued') this.#lines.get(e.priority)?.delete(jobId);
    if (e.phase === 'running') this.#runningIds.delete(jobId);
    e.phase = phase;
    if (phase === 'queued') this.#lines.get(e.priority)?.add(jobId);
    if (phase === 'running') this.#runningIds.add(jobId);
  }

  /** The jobs planning needs: every running one, every queued FOREGROUND one, the heads of the other lines. */
  *#candidateIds(): Generator<string> {
    yield* this.#runningIds;
    const heads = this.#policy.maxBackgroundJobs + this.#runningIds.size;
    for (const [priority, line] of this.#lines) {
      let n = 0;
      for (const id of line) {
        if (priority !== 'FOREGROUND' && n++ >= heads) break;
        yield id;
      }
    }
  }

  #plan(): void {
    if (this.#stopped) return;
    const now = this.#clock.monotonicMs();
    const candidates: PlanJob[] = [];
    for (const id of this.#candidateIds()) {
      const e = this.#jobs.get(id);
      if (e === undefined) continue;
      candidates.push({
        id,
        priority: e.priority,
        running: e.phase === 'running',
        queuedSeq: e.queuedSeq,
        runningSince: e.runningSince,
      });
    }
    const plan = planSchedule(candidates, now, this.#policy);
    this.#sliceTimer?.cancel();
    this.#sliceTimer = null;
    if (plan.nextSliceEndMs !== null) {
      this.#sliceTimer = this.#clock.setTimer(Math.max(0, plan.nextSliceEndMs - now), () => this.kick());
    }
    for (const id of plan.preempt) this.#actions.preempt(id);
    for (const id of plan.start) this.#actions.start(id);
  }

  #leaveRunning(e: Entry): void {
    if (e.runningSince !== null) e.activeMs += this.#clock.monotonicMs() - e.runningSince;
    e.runningSince = null;
    e.maxTimer?.cancel();
    e.maxTimer = null;
  }

  #armMax(jobId: string, e: Entry): void {
    e.maxTimer?.cancel();
    e.maxTimer = null;
    if (!Number.isFinite(e.maxDownloadMs) || e.runningSince === null) return;
    const used = e.activeMs + (this.#clock.monotonicMs() - e.runningSince);
    e.maxTimer = this.#clock.setTimer(Math.max(0, e.maxDownloadMs - used), () => {
      e.maxTimer = null;
      if (!this.#stopped) this.#actions.maxDownloadTime(jobId);
    });
  }

  #armNoProgress(jobId: string, e: Entry): void {
    e.noProgressTimer?.cancel();
    e.noProgressTimer = null;
    if (e.noProgressSince === null || !Number.isFinite(e.noProgressTimeoutMs)) return;
    const left = e.noProgressSince + e.noProgressTimeoutMs - this.#clock.monotonicMs();
    e.noProgressTimer = this.#clock.setTimer(Math.max(0, left), () => {
      e.noProgressTimer = null;
      if (!this.#stopped && e.phase === 'waiting') this.#actions.noProgressTimeout(jobId);
    });
  }

  #clearNoProgress(e: Entry): void {
    e.noProgressSince = null;
    e.noProgressTimer?.cancel();
    e.noProgressTimer = null;
  }

  #clearRetry(e: Entry): void {
    e.retryTimer?.cancel();
    e.retryTimer = null;
    e.retryAt = null;
  }

  /** One timer for the earliest inactivity deadline; re-armed when it fires. */
  #armInactivity(): void {
    if (this.#stopped) return;
    let due = Number.POSITIVE_INFINITY;
    for (const e of this.#jobs.values()) due = Math.min(due, e.lastActivity + this.#policy.jobInactivityTimeoutMs);
    if (this.#inactivityTimer !== null && this.#inactivityTimer.due <= due) return;
    this.#inactivityTimer?.handle.cancel();
    this.#inactivityTimer = null;
    if (!Number.isFinite(due)) return;
    const handle = this.#clock.setTimer(Math.max(0, due - this.#clock.monotonicMs()), () => {
      this.#inactivityTimer = null;
      const now = this.#clock.monotonicMs();
      for (const [id, e] of [...this.#jobs]) {
        if (now - e.lastActivity >= this.#policy.jobInactivityTimeoutMs) {
          e.lastActivity = now;
          this.#actions.inactivityTimeout(id);
        }
      }
      this.#armInactivity();
    });
    this.#inactivityTimer = { handle, due };
  }

  stop(): void {
    this.#stopped = true;
    this.#sliceTimer?.cancel();
    this.#inactivityTimer?.handle.cancel();
    for (const e of this.#jobs.values()) {
      e.maxTimer?.cancel();
      e.retryTimer?.cancel();
      e.noProgressTimer?.cancel();
    }
  }
}
