import {
  BitsError,
  isActiveState,
  isBitsError,
  isFinalState,
  isUploadType,
  type Job,
  type JobEvent,
  type JobFile,
} from '../core/index.ts';
import type { SchedulerActions } from '../scheduler/scheduler.ts';
import type { TransferFailure } from '../transfer/download-request.ts';
import { unexpectedFailure } from '../transfer/failure-table.ts';
import type { BandwidthControl } from './bandwidth-control.ts';
import type { RunOutcome } from './download-runner.ts';
import { discardFiles } from './finish-job.ts';
import type { JobLocks } from './job-locks.ts';
import { JobRun, type JobRunParts } from './job-run.ts';
import type { OwnerIo } from './owner-io.ts';
import type { Policy } from './policy-file.ts';
import { transferOptionsOf } from './transfer-options.ts';
import type { UploadReplies } from './upload-reply.ts';
import type { WaitConditions } from './wait-conditions.ts';

export interface JobRunsParts extends JobRunParts {
  readonly locks: JobLocks;
  readonly bandwidth: BandwidthControl;
  readonly waits: WaitConditions;
  readonly uploads: UploadReplies;
  readonly policy: () => Policy;
  readonly io: OwnerIo;
}

interface Runner {
  readonly abort: AbortController;
  /** Settles when the run has stopped and its last transition is stored. */
  done: Promise<void>;
  /** Set once the job is picked (CONNECTING). */
  run: JobRun | null;
  /**
   * The pick is committed and waits for its sync: a run stopped now writes nothing more (it
   * returns once the pick is durable), so whoever stops it need not wait for that sync.
   */
  picking: boolean;
}

/**
 * The reason every stopped run is aborted with, made once: `abort()` without a reason makes a
 * DOMException, stack trace and all, on each call (~35 µs, more than the rest of a Cancel's stop);
 * what reads the reason looks only at its name (AbortError).
 */
const STOPPED = new DOMException('the job was stopped', 'AbortError');

/**
 * Running jobs: what the scheduler asks for (start, preempt, the retry, no-progress, maximum
 * download time and inactivity timers) and the runs it starts. A run owns its job from `pick`
 * to its last transition (JobRun); everything else that changes a job first stops its run and
 * waits for it, holding the job's lock.
 */
export class JobRuns implements SchedulerActions {
  readonly #p: JobRunsParts;
  readonly #runners = new Map<string, Runner>();
  #closed = false;

  constructor(parts: JobRunsParts) {
    this.#p = parts;
  }

  /** Live byte counts of a running job (the store holds its last checkpoint). */
  live(jobId: string): readonly JobFile[] | undefined {
    return this.#runners.get(jobId)?.run?.live;
  }

  /**
   * Scheduler: QUEUED → CONNECTING, and run — unless a wait condition holds the job back. While a
   * call holds the job (a Cancel reading it before its own commit, a Resume still returning), the
   * pick waits for it, so it never changes the job under that call; then the scheduler plans
   * again rather than picking it blindly: meanwhile the slot may have gone to another job. That
   * plan runs once the call's reply is out (setImmediate: after the microtasks that answer it),
   * so a Resume's caller does not wait for the pick's commit and the run's start.
   */
  start(jobId: string): void {
    if (this.#closed || this.#runners.has(jobId)) return;
    if (this.#p.locks.isHeld(jobId)) {
      const plan = (): void => {
        if (!this.#closed) this.#p.scheduler.kick();
      };
      const afterReply = (): void => {
        setImmediate(plan);
      };
      // After run() settled, the lock is free again: planning inside it would only defer again.
      void this.#p.locks.run(jobId, () => undefined).then(afterReply, afterReply);
      return;
    }
    this.#start(jobId);
  }

  #start(jobId: string): void {
    if (this.#closed || this.#runners.has(jobId)) return;
    const job = this.#p.store.getJob(jobId);
    if (job?.state !== 'QUEUED') return;
    const held = this.#p.waits.blocking(job);
    if (held !== null) {
      this.#p.locks.background(jobId, () => this.#p.waits.park(job, held));
      return;
    }
    const runner: Runner = { abort: new AbortController(), done: Promise.resolve(), run: null, picking: false };
    this.#runners.set(jobId, runner);
    let picked = false;
    runner.done = this.#own(job, runner, () => {
      picked = true;
    }).finally(() => {
      this.#runners.delete(jobId);
      // A job that could not even be picked stays QUEUED; planning again at once would spin on it.
      if (picked) this.#p.scheduler.kick();
    });
  }

  /**
   * Stop a running transfer (at a checkpoint) and wait until it has stopped: until its last
   * transition is committed. A run still waiting for its pick's sync has committed its last one
   * (CONNECTING): the caller's next commit follows it in the log, the sync that covers the
   * caller's commit covers the pick too, and the pick's effects run first (WalSync resolves in
   * order). So a Cancel right after a Resume waits for one sync, not two.
   */
  async stop(jobId: string): Promise<void> {
    const runner = this.#runners.get(jobId);
    if (runner === undefined) return;
    runner.abort.abort(STOPPED);
    if (!runner.picking) await runner.done;
  }

  /** Shutdown: no new runs; every running one stops at a checkpoint (and its pick is synced). */
  async stopAll(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#runners.values()].map((runner) => {
        runner.abort.abort(STOPPED);
        return runner.done;
      }),
    );
  }

  preempt(jobId: string): void {
    this.#act(jobId, async () => {
      await this.stop(jobId);
      const job = this.#p.store.getJob(jobId);
      if (job !== undefined && isActiveState(job.state)) await this.#p.transitions.step(job, 'slice_end');
    });
  }

  retryDue(jobId: string): void {
    this.#act(jobId, async () => {
      const job = this.#p.store.getJob(jobId);
      if (job?.state !== 'TRANSIENT_ERROR') return;
      const event: JobEvent = this.#p.scheduler.noProgressExpired(jobId) ? 'no_progress_timeout' : 'retry_timer';
      await this.#p.transitions.step(job, event);
    });
  }

  noProgressTimeout(jobId: string): void {
    this.#act(jobId, async () => {
      const job = this.#p.store.getJob(jobId);
      if (job?.state === 'TRANSIENT_ERROR') await this.#p.transitions.step(job, 'no_progress_timeout');
    });
  }

  maxDownloadTime(jobId: string): void {
    this.#act(jobId, async () => {
      await this.stop(jobId);
      const job = this.#p.store.getJob(jobId);
      if (job === undefined || !isActiveState(job.state)) return;
      const error = new BitsError(
        'BG_E_MAXDOWNLOAD_TIMEOUT',
        `the job spent more than ${job.maximumDownloadTime} s connecting and transferring`,
        { context: 'GENERAL_QUEUE_MANAGER' },
      ).toJSON();
      await this.#p.transitions.step(job, 'max_download_time', { error: { ...error, fileIndex: null } });
    });
  }

  inactivityTimeout(jobId: string): void {
    this.#act(jobId, async () => {
      await this.stop(jobId);
      const job = this.#p.store.getJob(jobId);
      if (job === undefined || isFinalState(job.state)) return;
      await discardFiles(job, this.#p.io);
      await this.#p.transitions.step(this.#p.store.getJob(jobId) ?? job, 'inactivity_timeout');
    });
  }

  /** A timer's action runs under the job's lock, like a caller's method. */
  #act(jobId: string, fn: () => Promise<void>): void {
    this.#p.locks.background(jobId, async () => {
      if (!this.#closed) await fn();
    });
  }

  /** One run: pick, transfer, and the transition its outcome calls for. Never rejects. */
  async #own(queued: Job, runner: Runner, onPicked: () => void): Promise<void> {
    const { signal } = runner.abort;
    let run: JobRun;
    try {
      // No caller waits on the pick: its sync can be the next call's (a Cancel right after).
      const picked = this.#p.transitions.step(queued, 'pick', { background: true });
      runner.picking = true;
      run = new JobRun(await picked, this.#p);
    } catch {
      // Not picked (the store refused or failed): the job stays QUEUED.
      return;
    } finally {
      runner.picking = false;
    }
    onPicked();
    runner.run = run;
    if (signal.aborted) return;
    let outcome: RunOutcome;
    let job: Job;
    try {
      outcome = await this.#transfer(run, signal);
      job = await run.settled();
    } catch (err) {
      outcome = { kind: 'failed', failure: unexpectedFailure(err), fileIndex: null };
      job = run.job;
    } finally {
      this.#p.bandwidth.release(run.job.id);
    }
    if (outcome.kind === 'aborted' || signal.aborted) return;
    try {
      if (outcome.kind === 'done') await this.#p.transitions.step(job, 'all_files_done');
      else await this.#fail(job, outcome.failure, outcome.fileIndex);
    } catch (err) {
      if (isBitsError(err) && err.name === 'BG_E_INVALID_STATE') return;
      // The outcome could not be stored (a failed COMMIT): stop the job instead of leaving it
      // TRANSFERRING with no transfer. If even that fails, a restart queues it again.
      await this.#fail(job, unexpectedFailure(err), null).catch(() => undefined);
    }
  }

  #transfer(run: JobRun, signal: AbortSignal): Promise<RunOutcome> {
    const { job } = run;
    const policy = this.#p.policy();
    const context = {
      job,
      options: transferOptionsOf(job, {
        checkpointBytes: policy.checkpointBytes,
        checkpointMs: policy.checkpointMilliseconds,
        minSplitBytes: policy.minSplitBytes,
      }),
      clock: this.#p.clock,
      signal,
      limiter: this.#p.bandwidth.limiterFor(job),
      report: run,
    };
    if (!isUploadType(job.type)) return this.#p.io.download(job.owner, { ...context, written: run.writtenBefore() });
    return this.#p.io.upload(job.owner, { ...context, session: this.#p.uploads.sessionOf(job.id) });
  }

  /** A failed run: fatal → ERROR; transient → TRANSIENT_ERROR and a retry (or ERROR by NoProgressTimeout rules). */
  async #fail(job: Job, failure: TransferFailure, fileIndex: number | null): Promise<Job> {
    const { transitions } = this.#p;
    const error = { ...failure.error, fileIndex };
    if (failure.kind === 'fatal' || job.noProgressTimeout === 0) {
      return transitions.step(job, 'fatal_failure', { error });
    }
    // BITS: if MinimumRetryDelay > NoProgressTimeout there is no retry; the job goes to ERROR.
    if (job.minimumRetryDelay > job.noProgressTimeout) {
      const waiting = await transitions.step(job, 'transient_failure', { error, retryDelayMs: null });
      return transitions.step(waiting, 'no_progress_timeout');
    }
    const retryDelayMs = Math.max(job.minimumRetryDelay * 1000, failure.retryAfterMs ?? 0);
    return transitions.step(job, 'transient_failure', { error, retryDelayMs });
  }
}
