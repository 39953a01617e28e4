import { BitsError, isFinalState, type Job, type JobMethod, normalizeJobId, quoted } from '../core/index.ts';
import { assertJobMethod } from '../store/job-rules.ts';
import type { JobStore } from '../store/job-store.ts';

/**
 * Who may see a job and which method the job allows now: the caller's side of every method.
 * Unknown and foreign jobs are BG_E_NOT_FOUND (foreign ids do not leak); administrators see
 * every job. Legality is the store's rule (job-rules.ts), asked here before the methods that
 * act before they write (stopping a transfer, deleting files) or that write nothing (getters).
 */
export class JobAccess {
  readonly #store: JobStore;
  readonly #owner: string;
  readonly #isAdmin: boolean;

  constructor(store: JobStore, owner: string, isAdmin: boolean) {
    this.#store = store;
    this.#owner = owner;
    this.#isAdmin = isAdmin;
  }

  /** The caller: the owner recorded on new jobs, and whether quotas and other users' jobs apply. */
  get caller(): { owner: string; isAdmin: boolean } {
    return { owner: this.#owner, isAdmin: this.#isAdmin };
  }

  /** A job id in its canonical spelling (any GUID spelling is accepted). */
  id(jobId: string): string {
    const id = normalizeJobId(jobId);
    if (id === null) throw new BitsError('BG_E_NOT_FOUND', `not a job id: ${quoted(jobId)}`);
    return id;
  }

  /** The job if this caller may see it (any state), else undefined. */
  find(jobId: string): Job | undefined {
    const job = this.#store.getJob(this.id(jobId));
    return job === undefined || (job.owner !== this.#owner && !this.#isAdmin) ? undefined : job;
  }

  /**
   * A job of this caller. A job that reached ACKNOWLEDGED/CANCELLED answers BG_E_INVALID_STATE to
   * every method, as a BITS job handle does, and BG_E_NOT_FOUND to GetJob (`lookup`).
   */
  job(jobId: string, lookup = false): Job {
    const job = this.find(jobId);
    if (job === undefined) throw new BitsError('BG_E_NOT_FOUND', `job ${this.id(jobId)} was not found`);
    if (isFinalState(job.state)) {
      if (lookup) throw new BitsError('BG_E_NOT_FOUND', `job ${job.id} is ${job.state} and has left the queue`);
      throw new BitsError('BG_E_INVALID_STATE', `job ${job.id} is ${job.state}: no method may change it`);
    }
    return job;
  }

  /**
   * A job of this caller, in any state, that allows `method` now (the getters answer after
   * Complete and Cancel too, while the store keeps the finished job: FINISHED_JOB_RETENTION_MS).
   */
  held(jobId: string, method: JobMethod): Job {
    const job = this.find(jobId);
    if (job === undefined) throw new BitsError('BG_E_NOT_FOUND', `job ${this.id(jobId)} was not found`);
    this.check(method, job);
    return job;
  }

  /** Whether this caller owns the job (custom headers are the owner's only). */
  owns(job: Job): boolean {
    return job.owner === this.#owner;
  }

  /** The method-legality rule of the store, for a call about to act on `job`. */
  check(method: JobMethod, job: Job): void {
    const transferState = job.type === 'UPLOAD_REPLY' ? this.#store.getTransferState(job.id) : undefined;
    assertJobMethod(job, method, transferState);
  }
}
