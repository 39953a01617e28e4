import { BitsError, isFinalState, type Job, type JobMethod, normalizeJobId, quoted } from '../core/index.ts';
import { assertJobMethod } from '../store/job-rules.ts';
import type { JobStore } from '../store/job-store.ts';

/**
 * Who may see a job and which method the job allows now: the caller's side of every method.
 * Unknown and foreign jobs are BG_E_NOT_FOUND (foreign ids do not leak); administrators see
 * every job. Legality is the store's rule (job-rules.ts), asked here before the methods that
 * act before they write (stopping a transfer, deleting files) or that write nothing (getters).
 */
/**
 * Who calls: the owner recorded on new jobs; whether they administer the service (every job, no
 * quotas) — asked at each call, as group membership can change; whether they may change the
 * policy (per-user mode: the user's own daemon; system mode: administrators only).
 */
export interface Caller {
  readonly owner: string;
  readonly isAdmin: () => boolean;
  readonly mayConfigure: () => boolean;
  /**
   * A service account (system mode: a uid below UID_MIN): exempt from quotas as BITS's
   * LocalSystem/NetworkService are, without seeing anyone else's jobs.
   */
  readonly isServiceAccount?: () => boolean;
}

/**
 * What belongs to the job's owner alone (bits-client.md §10: credentials "must be called as the
 * owner", custom headers are owner-only): an administrator may change everything else of
 * another user's job, but not these — the notify command line and the webhooks run and are sent
 * as the owner, so whoever sets them must be the owner (take ownership first).
 */
const OWNER_ONLY: ReadonlySet<JobMethod> = new Set<JobMethod>([
  'setCredentials',
  'removeCredentials',
  'setCustomHeaders',
  'setNotifyCmdLine',
  'setWebhooks',
]);

export class JobAccess {
  readonly #store: JobStore;
  readonly #caller: Caller;

  constructor(store: JobStore, caller: Caller) {
    this.#store = store;
    this.#caller = caller;
  }

  /** The caller: the owner recorded on new jobs, and whether other users' jobs are theirs to see. */
  get caller(): { owner: string; isAdmin: boolean } {
    return { owner: this.#caller.owner, isAdmin: this.#caller.isAdmin() };
  }

  /** The caller as quotas see them: administrators and service accounts are exempt (§9.1). */
  get quotaCaller(): { owner: string; isAdmin: boolean } {
    const { owner, isAdmin } = this.caller;
    return { owner, isAdmin: isAdmin || this.#caller.isServiceAccount?.() === true };
  }

  /** A setter of the owner's own data (OWNER_ONLY) by someone else: E_ACCESSDENIED. */
  checkOwnerOnly(method: JobMethod, job: Job): void {
    if (OWNER_ONLY.has(method) && !this.owns(job)) {
      throw new BitsError(
        'E_ACCESSDENIED',
        `${method} is the job owner's only (uid ${job.owner}); an administrator takes ownership first`,
      );
    }
  }

  /** Policy changes (`setPolicy`, `reloadPolicy`) are the configuring caller's only. */
  checkConfigure(what: string): void {
    if (!this.#caller.mayConfigure()) throw new BitsError('E_ACCESSDENIED', `${what} needs an administrator`);
  }

  /** Whether this caller may see the job with this id (events are filtered by it). */
  sees(jobId: string): boolean {
    if (this.#caller.isAdmin()) return true;
    return this.#store.getJob(jobId)?.owner === this.#caller.owner;
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
    return job === undefined || (job.owner !== this.#caller.owner && !this.#caller.isAdmin()) ? undefined : job;
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
    return job.owner === this.#caller.owner;
  }

  /** The method-legality rule of the store, for a call about to act on `job`. */
  check(method: JobMethod, job: Job): void {
    const transferState = job.type === 'UPLOAD_REPLY' ? this.#store.getTransferState(job.id) : undefined;
    assertJobMethod(job, method, transferState);
  }
}
