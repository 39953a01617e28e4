import type { ManagerEvent } from '../api/bits-manager.ts';
import {
  type Clock,
  isActiveState,
  isFinalState,
  type Job,
  type JobEvent,
  type JobState,
  transition,
} from '../core/index.ts';
import type { Scheduler, SchedulerPhase } from '../scheduler/scheduler.ts';
import type { CreateJobInput, JobStore, TransitionInput } from '../store/job-store.ts';
import type { EventHub } from './event-hub.ts';
import type { StepTimer } from './metrics/service-metrics.ts';
import type { NotifyCommandRunner } from './notify-cmdline.ts';
import { DEFAULT_TIMERS, SavedTimers } from './saved-timers.ts';
import { isConditionWait } from './wait-conditions.ts';
import type { Webhooks } from './webhooks/webhooks.ts';

/** The error a transition records (ERROR, TRANSIENT_ERROR): a BITS error and the file involved. */
export type RecordedError = NonNullable<TransitionInput['error']>;

export interface StepOptions {
  /** Required by the rows that record an error. */
  readonly error?: RecordedError;
  /**
   * Entering TRANSIENT_ERROR: when to retry. Undefined: the job's MinimumRetryDelay; null: no
   * timer (network loss and policy blocks wait for their condition to clear).
   */
  readonly retryDelayMs?: number | null;
  /**
   * No caller waits on this change (a run's pick): its commit starts no sync of its own at once
   * but rides on the next one (see WalSync). Its effects still wait for that sync.
   */
  readonly background?: boolean;
}

/** What a step acts on after the commit. */
export interface TransitionParts {
  readonly store: JobStore;
  readonly scheduler: Scheduler;
  readonly hub: EventHub;
  readonly notify: NotifyCommandRunner;
  readonly clock: Clock;
  /** A job left the queue (ACKNOWLEDGED, CANCELLED): per-job state elsewhere can go. */
  readonly forget: (jobId: string) => void;
  /** Commit latency for the metrics, when bitsd keeps them. */
  readonly observe?: StepTimer | undefined;
  /** The webhook deliveries a change fires (added in its commit), and their sender. */
  readonly webhooks?: Pick<Webhooks, 'deliveriesFor' | 'kick'> | undefined;
}

/** A new job's timers: nothing elapsed, no retry, no open no-progress window. */
function phaseOf(state: JobState): SchedulerPhase {
  switch (state) {
    case 'QUEUED':
      return 'queued';
    case 'CONNECTING':
    case 'TRANSFERRING':
      return 'running';
    case 'TRANSIENT_ERROR':
      return 'waiting';
    default:
      return 'idle';
  }
}

/**
 * THE transition step (DESIGN.md §2): every state change of a job goes through `step`.
 *
 * 1. Apply the table (core/transitions.ts) to know the state the job is entering, and ask the
 *    scheduler for the timers it will have there — without changing the scheduler yet.
 * 2. One store verb, its own transaction: the row compare-and-set on the state the caller saw,
 *    and those timers (one commit, one fsync).
 * 3. `await store.durable()`: nothing below happens for a change that is not on disk.
 * 4. Only then: the scheduler takes the new state, subscribers get `job:state` (and
 *    `job:transferred` / `job:error`), and the notify command line runs. Reads wait for this
 *    too (`applied()`), so a state a caller reads is one whose effects have happened.
 *
 * A step that fails at 2 or 3 throws to its caller and has changed nothing that anyone outside the
 * store can see. The caller holds the job (its lock, or it owns the job's run).
 */
export class JobTransitions {
  readonly #p: TransitionParts;
  /** Changes committed whose effects (scheduler, events, notify) have not run yet. */
  readonly #applying = new Set<Promise<unknown>>();
  /** The timers last written per job: a change writes them only once they moved (saved-timers.ts). */
  readonly #saved = new SavedTimers();

  constructor(parts: TransitionParts) {
    this.#p = parts;
  }

  /**
   * Resolves once every change committed so far has applied its effects (or failed). A read
   * waits for it besides durability: a state it shows has its timers armed and its events sent
   * (the group commit's sync resolves the reader and the step together, in either order).
   */
  applied(): Promise<void> {
    if (this.#applying.size === 0) return Promise.resolve();
    return Promise.allSettled([...this.#applying]).then(() => undefined);
  }

  /** Runs a change's durable wait and effects, counted in `applied()` until they are done. */
  #afterCommit<T>(effects: () => Promise<T>): Promise<T> {
    const p = effects();
    this.#applying.add(p);
    const done = (): void => {
      this.#applying.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** Apply `event` to `job`, which must still be in `job.state`; resolves with the job after the change. */
  async step(job: Job, event: JobEvent, options: StepOptions = {}): Promise<Job> {
    const { store, scheduler, clock } = this.#p;
    const retryDelayMs = options.retryDelayMs === undefined ? job.minimumRetryDelay * 1000 : options.retryDelayMs;
    const target = transition(job.state, event, job.type);
    // An illegal event gets no timers; the store refuses it with the BITS error. Timers that
    // barely moved since they were last written are not written again (saved-timers.ts).
    const entering =
      target.ok && !isFinalState(target.to)
        ? scheduler.timersOnEntering(job.id, phaseOf(target.to), retryDelayMs)
        : undefined;
    const timers = entering === undefined ? undefined : this.#saved.due(job.id, entering);
    const { webhooks } = this.#p;
    let fired = 0;
    const started = clock.monotonicMs();
    const next = store.applyTransition(job.id, {
      expected: job.state,
      event,
      error: options.error ?? null,
      now: clock.wallMs(),
      ...(timers === undefined ? {} : { timers }),
      ...(webhooks === undefined
        ? {}
        : {
            webhooks: (after: Job) => {
              const deliveries = after.state === job.state ? [] : webhooks.deliveriesFor(after);
              fired = deliveries.length;
              return deliveries;
            },
          }),
    });
    if (isFinalState(next.state)) this.#saved.forget(job.id);
    else if (timers !== undefined) this.#saved.stored(job.id, timers);
    return this.#afterCommit(async () => {
      await store.durable(options.background === true ? { background: true } : {});
      this.#p.observe?.('commit', (clock.monotonicMs() - started) / 1000);
      if (fired > 0) webhooks?.kick();
      this.#schedule(next, retryDelayMs);
      if (next.state !== job.state) {
        this.#p.hub.emit({ type: 'job:state', jobId: job.id, state: next.state, previous: job.state }, next);
      }
      this.#announce(next);
      return next;
    });
  }

  /** CreateJob: the row and its first timers in one commit; `job:created` once it is durable. */
  async create(input: Omit<CreateJobInput, 'timers'>): Promise<Job> {
    // All defaults: no timers row at all (a job without one is restored with exactly these).
    const timers = this.#saved.initial(DEFAULT_TIMERS);
    const job = this.#p.store.createJob({ ...input, ...(timers === undefined ? {} : { timers }) });
    this.#saved.stored(job.id, timers);
    return this.#tookUp(job, () => this.#p.scheduler.idle(job.id), { type: 'job:created', jobId: job.id });
  }

  /**
   * A property or file change a store verb just returned: once it is durable, the scheduler
   * takes the job's properties and subscribers get `job:modified`.
   */
  changed(job: Job): Promise<Job> {
    return this.#tookUp(job, () => this.#p.scheduler.touch(job.id), { type: 'job:modified', jobId: job.id });
  }

  /** Once `job`'s commit is durable: the scheduler takes its properties and `schedule`, then `event`. */
  #tookUp(job: Job, schedule: () => void, event: ManagerEvent): Promise<Job> {
    return this.#afterCommit(async () => {
      await this.#p.store.durable();
      this.track(job);
      schedule();
      this.#p.hub.emit(event);
      return job;
    });
  }

  /**
   * Start-up: jobs that were CONNECTING/TRANSFERRING go back to QUEUED (they resume from the last
   * checkpoint); every other job is taken up in the state the store holds (nothing is written);
   * timers come back from their stored elapsed amounts.
   */
  async recover(): Promise<void> {
    const { store, scheduler } = this.#p;
    // Not awaited one by one: each job's effects wait for the same durable barrier and run in
    // queue order before the scheduler plans, so a restart keeps the order jobs were queued in.
    const taken: Array<Promise<unknown>> = [];
    for (const job of store.listJobs()) {
      const timers = store.getTimers(job.id);
      this.#saved.stored(job.id, timers);
      this.track(job);
      if (timers !== undefined) scheduler.restore(job.id, timers);
      if (isActiveState(job.state)) {
        taken.push(this.step(job, 'service_start'));
        continue;
      }
      // A job parked on a condition waits for it, not for a retry timer.
      const waiting = job.state === 'TRANSIENT_ERROR' && isConditionWait(job);
      const retryDelayMs = waiting ? null : (timers?.retryRemainingMs ?? job.minimumRetryDelay * 1000);
      taken.push(
        store.durable().then(() => {
          this.#schedule(job, retryDelayMs);
          this.#announce(job);
        }),
      );
    }
    await Promise.all(taken);
    // Deliveries a previous run left in the outbox (due now, or at their back-off time).
    this.#p.webhooks?.kick();
  }

  /**
   * Shutdown: each queued job's timers as the scheduler has them now, written where they moved
   * (saved-timers.ts) — one commit per job written, none for a job whose timers stood still.
   */
  saveTimers(jobs: readonly Job[]): void {
    const { store, scheduler } = this.#p;
    for (const job of jobs) {
      const timers = this.#saved.due(job.id, scheduler.timers(job.id));
      if (timers === undefined) continue;
      store.saveTimers(job.id, timers);
      this.#saved.stored(job.id, timers);
    }
  }

  /** The scheduling properties of a job (priority, MaximumDownloadTime, NoProgressTimeout). */
  track(job: Job): void {
    this.#p.hub.notifyFlags(job.id, job.notifyFlags);
    this.#p.scheduler.track(job.id, {
      priority: job.priority,
      maxDownloadTimeS: job.maximumDownloadTime,
      noProgressTimeoutS: job.noProgressTimeout,
    });
  }

  #schedule(job: Job, retryDelayMs: number | null): void {
    const { scheduler } = this.#p;
    if (isFinalState(job.state)) {
      scheduler.remove(job.id);
      this.#p.hub.notifyFlags(job.id, null);
      this.#p.notify.forget(job.id);
      this.#p.forget(job.id);
      return;
    }
    switch (phaseOf(job.state)) {
      case 'queued':
        scheduler.queued(job.id);
        break;
      case 'running':
        scheduler.running(job.id);
        break;
      case 'waiting':
        scheduler.transient(job.id, retryDelayMs);
        break;
      default:
        scheduler.idle(job.id);
    }
  }

  /** TRANSFERRED and ERROR are told to subscribers and to the notify command line. */
  #announce(job: Job): void {
    const outcome = outcomeOf(job);
    if (outcome === undefined) return;
    this.#p.hub.emit(outcome);
    this.#p.notify.fire(job.id, job.state === 'TRANSFERRED' ? 'TRANSFERRED' : 'ERROR');
  }
}

/** The notification of a job in TRANSFERRED or ERROR (job:transferred / job:error), else none. */
export function outcomeOf(job: Job): ManagerEvent | undefined {
  if (job.state === 'TRANSFERRED') return { type: 'job:transferred', jobId: job.id };
  if (job.state === 'ERROR' && job.error !== null) {
    const { fileIndex: _f, ...error } = job.error;
    return { type: 'job:error', jobId: job.id, error };
  }
  return undefined;
}
