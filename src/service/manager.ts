import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  BitsManager,
  FileInfo,
  JobErrorInfo,
  JobInfo,
  ManagerEvent,
  PolicyDocument,
  ResultCode,
} from '../api/contract.ts';
import {
  type AuthScheme,
  type AuthTarget,
  BitsError,
  type BitsErrorData,
  type Clock,
  type Credentials,
  errorInfo,
  errorNameForHresult,
  type FileRange,
  isActiveState,
  isFinalState,
  isUploadType,
  type Job,
  type JobEvent,
  type JobFile,
  type JobMethod,
  type JobPriority,
  type JobProgress,
  type JobState,
  type JobTimes,
  type JobType,
  jobProgress,
  methodError,
  normalizeJobId,
  type ProxySettings,
  parseCustomHeaders,
  type ReplyProgress,
  validateBandwidth,
  validateCredentials,
  validateCustomHeaders,
  validateDescription,
  validateDisplayName,
  validateFileMode,
  validateJobType,
  validateLocalPath,
  validateMinimumRetryDelay,
  validateNotifyCmdLine,
  validateNotifyFlags,
  validatePriority,
  validateProxySettings,
  validateRanges,
  validateRemoteUrl,
  validateSeconds,
  validateSecurityFlags,
} from '../core/index.ts';
import { type NetworkSource, needsNetwork } from '../scheduler/network.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { openSqliteJobStore } from '../store/index.ts';
import type { JobPatch, JobStore, NewFile } from '../store/job-store.ts';
import type { TransferFailure } from '../transfer/contract.ts';
import { checkLocalDestination, commitFile } from '../transfer/index.ts';
import { discardUploadLocalState, readReply } from '../transfer/upload/index.ts';
import { BandwidthControl } from './bandwidth-control.ts';
import { runDownloadJob } from './download-runner.ts';
import { EventHub } from './event-hub.ts';
import { discardFiles, publishFiles } from './finish-job.ts';
import { toErrorInfo, toFileInfo, toJobInfo, withLiveProgress } from './job-info.ts';
import { NotifyCommandRunner } from './notify-cmdline.ts';
import { DEFAULT_POLICY, loadPolicyFile, type Policy, policyDocument, setPolicyKey } from './policy-file.ts';
import { ProcNetworkSource } from './proc-network-source.ts';
import { systemClock } from './system-clock.ts';
import { UploadCancelQueue } from './upload-cancel-queue.ts';
import { checkUploadSource, replyProgressOf, runUploadJob, uploadStateOf } from './upload-runner.ts';
import {
  conditionError,
  isConditionWait,
  isParkable,
  NETWORK_DOWN,
  POLICY_BLOCK,
  type WaitCondition,
} from './wait-conditions.ts';

export interface ManagerOptions {
  /** Folder for the job database (`jobs.db`); created 0700 if missing. */
  readonly home: string;
  readonly clock?: Clock;
  /** Owner recorded on new jobs (default: this process's uid). */
  readonly owner?: string;
  /** Admins are exempt from quotas and may list all users' jobs (default: uid 0). */
  readonly isAdmin?: boolean;
  /** Policy settings; `policyFile` (config.json) is read first, these override it. */
  readonly policy?: Partial<Policy>;
  readonly policyFile?: string;
  /** Where network connectivity comes from (default: the kernel's routing tables). */
  readonly network?: NetworkSource;
  /** Loopback and file:// sources keep running when the network is down (default true). */
  readonly loopbackWithoutNetwork?: boolean;
  /** Use this store instead of opening `home/jobs.db`. */
  readonly store?: JobStore;
}

interface Runner {
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

type StopReason = 'suspend' | 'cancel' | 'complete' | 'preempt' | 'shutdown' | 'max_download_time' | 'modify';

/** Jobs are created, changed and run in this process (the library interface of DESIGN.md §1). */
export async function createManager(options: ManagerOptions): Promise<InProcessManager> {
  const manager = new InProcessManager(options);
  manager.recover();
  return manager;
}

/** The in-process manager; bitsd serves this same object over its socket. */
export class InProcessManager implements BitsManager {
  readonly #store: JobStore;
  readonly #clock: Clock;
  readonly #owner: string;
  readonly #isAdmin: boolean;
  #policy: Policy;
  readonly #policyFile: string | null;
  readonly #policyOverrides: Partial<Policy>;
  readonly #bandwidth: BandwidthControl;
  readonly #network: NetworkSource;
  readonly #loopbackWithoutNetwork: boolean;
  readonly #hub: EventHub;
  readonly #scheduler: Scheduler;
  readonly #runners = new Map<string, Runner>();
  /** Live byte counts of running jobs (the store holds the last durable checkpoint). */
  readonly #live = new Map<string, readonly JobFile[]>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #notify: NotifyCommandRunner;
  readonly #uploadCancels: UploadCancelQueue;
  #closed = false;

  constructor(options: ManagerOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#owner = options.owner ?? String(process.getuid?.() ?? 0);
    this.#isAdmin = options.isAdmin ?? process.getuid?.() === 0;
    this.#policyFile = options.policyFile ?? null;
    this.#policyOverrides = options.policy ?? {};
    this.#policy = {
      ...(this.#policyFile === null ? DEFAULT_POLICY : loadPolicyFile(this.#policyFile).policy),
      ...this.#policyOverrides,
    };
    this.#network = options.network ?? new ProcNetworkSource(this.#clock);
    this.#loopbackWithoutNetwork = options.loopbackWithoutNetwork ?? true;
    this.#network.onChange((up) => this.#networkChanged(up));
    if (options.store === undefined) mkdirSync(options.home, { recursive: true, mode: 0o700 });
    this.#store = options.store ?? openSqliteJobStore(join(options.home, 'jobs.db'), { quotas: this.#policy.quotas });
    this.#hub = new EventHub(this.#clock);
    this.#scheduler = new Scheduler(this.#clock, this.#schedulerPolicy(), {
      start: (id) => this.#start(id),
      preempt: (id) => void this.#preempt(id),
      retryDue: (id) => this.#retryDue(id),
      noProgressTimeout: (id) => this.#timeout(id, 'no_progress_timeout'),
      maxDownloadTime: (id) => void this.#maxDownloadTime(id),
      inactivityTimeout: (id) => void this.#inactivity(id),
    });
    this.#notify = new NotifyCommandRunner({
      clock: this.#clock,
      getJob: (id) => this.#store.getJob(id),
    });
    this.#uploadCancels = new UploadCancelQueue(this.#clock);
    this.#bandwidth = new BandwidthControl(this.#clock, this.#policy.bandwidth, (priority, blocked) =>
      this.#policyBlockChanged(priority, blocked),
    );
  }

  #schedulerPolicy() {
    return {
      maxBackgroundJobs: this.#policy.maxBackgroundJobs,
      timeSliceMs: this.#policy.timeSliceSeconds * 1000,
      jobInactivityTimeoutMs: this.#policy.jobInactivityTimeoutSeconds * 1000,
    };
  }

  /** The policy in force, as JSON. */
  async getPolicy(): Promise<PolicyDocument> {
    return policyDocument(this.#policy);
  }

  /** The policy in force, as the scheduler uses it. */
  policy(): Policy {
    return this.#policy;
  }

  /** Re-read the policy file (SIGHUP, the API); a bad file changes nothing and throws. */
  async reloadPolicy(): Promise<PolicyDocument> {
    const fromFile = this.#policyFile === null ? DEFAULT_POLICY : loadPolicyFile(this.#policyFile).policy;
    this.#applyPolicy({ ...fromFile, ...this.#policyOverrides });
    return policyDocument(this.#policy);
  }

  /** Change one setting of the policy file (`bitsadmin /util /setpolicy`) and apply it. */
  async setPolicy(key: string, value: unknown): Promise<PolicyDocument> {
    if (typeof key !== 'string' || key === '') throw new BitsError('E_INVALIDARG', 'a policy key is required');
    if (this.#policyFile === null) throw new BitsError('E_NOTIMPL', 'this manager has no policy file');
    const policy = setPolicyKey(this.#policyFile, key, value);
    this.#applyPolicy({ ...policy, ...this.#policyOverrides });
    return policyDocument(this.#policy);
  }

  #applyPolicy(policy: Policy): void {
    this.#policy = policy;
    this.#store.setQuotas(policy.quotas);
    this.#scheduler.setPolicy(this.#schedulerPolicy());
    this.#bandwidth.setPolicy(policy.bandwidth);
  }

  /**
   * Start-up: jobs that were CONNECTING/TRANSFERRING go back to QUEUED (they resume from the last
   * checkpoint); timers are restored from their stored elapsed amounts.
   */
  recover(): void {
    for (const job of this.#store.listJobs()) {
      let current = job;
      if (isActiveState(job.state)) current = this.#apply(job, 'service_start');
      const timers = this.#store.getTimers(job.id);
      this.#track(current);
      if (timers !== undefined) this.#scheduler.restore(job.id, timers);
      const waiting = current.state === 'TRANSIENT_ERROR' && isConditionWait(current);
      this.#enterState(current, waiting ? null : (timers?.retryRemainingMs ?? undefined));
    }
  }

  // ── identity and lookup ──────────────────────────────────────────────────────────────────

  #now(): number {
    return this.#clock.wallMs();
  }

  #id(jobId: string): string {
    const id = normalizeJobId(jobId);
    if (id === null) throw new BitsError('BG_E_NOT_FOUND', `not a job id: ${JSON.stringify(jobId)}`);
    return id;
  }

  /**
   * A job of this caller. Unknown and foreign jobs are BG_E_NOT_FOUND (foreign ids do not leak);
   * a job that reached ACKNOWLEDGED/CANCELLED answers BG_E_INVALID_STATE to every method, as a
   * BITS job handle does, and BG_E_NOT_FOUND to GetJob (`lookup`).
   */
  #job(jobId: string, lookup = false): Job {
    const id = this.#id(jobId);
    const job = this.#store.getJob(id);
    if (job === undefined || (job.owner !== this.#owner && !this.#isAdmin)) {
      throw new BitsError('BG_E_NOT_FOUND', `job ${id} was not found`);
    }
    if (isFinalState(job.state)) {
      if (lookup) throw new BitsError('BG_E_NOT_FOUND', `job ${id} is ${job.state} and has left the queue`);
      throw new BitsError('BG_E_INVALID_STATE', `job ${id} is ${job.state}: no method may change it`);
    }
    return job;
  }

  #check(method: JobMethod, job: Job): void {
    const name = methodError(method, {
      state: job.state,
      type: job.type,
      fileCount: job.files.length,
      everResumed: job.everResumed,
      replyStarted:
        job.type === 'UPLOAD_REPLY' && uploadStateOf(this.#store.getTransferState(job.id)).replyBytesTotal >= 0,
    });
    if (name !== null) {
      throw new BitsError(name, `${method} is not allowed on a ${job.type} job in state ${job.state}`, {
        context: 'GENERAL_QUEUE_MANAGER',
      });
    }
  }

  /** Serialise the calls that change one job. */
  async #locked<T>(jobId: string, fn: () => Promise<T> | T): Promise<T> {
    const id = this.#id(jobId);
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    }
  }

  // ── state changes ────────────────────────────────────────────────────────────────────────

  /** Apply one transition from the job's current state, then act on the new state. */
  #apply(job: Job, event: JobEvent, error?: BitsErrorData & { fileIndex: number | null }): Job {
    const next = this.#store.applyTransition(job.id, {
      expected: job.state,
      event,
      error: error ?? null,
      now: this.#now(),
    });
    if (next.state !== job.state) {
      this.#hub.emit({ type: 'job:state', jobId: job.id, state: next.state, previous: job.state });
    }
    return next;
  }

  /** What entering a state means for the scheduler, notifications and events. */
  /**
   * `retryDelayMs`: for TRANSIENT_ERROR, when to retry (undefined: MinimumRetryDelay; null: no
   * timer — network loss and policy blocks wait for their condition to clear).
   */
  #enterState(job: Job, retryDelayMs?: number | null): void {
    const id = job.id;
    switch (job.state) {
      case 'QUEUED':
        this.#scheduler.queued(id);
        break;
      case 'CONNECTING':
      case 'TRANSFERRING':
        this.#scheduler.running(id);
        break;
      case 'TRANSIENT_ERROR':
        this.#scheduler.transient(id, retryDelayMs === undefined ? job.minimumRetryDelay * 1000 : retryDelayMs);
        break;
      case 'ACKNOWLEDGED':
      case 'CANCELLED':
        this.#scheduler.remove(id);
        this.#notify.forget(id);
        this.#bandwidth.forget(id);
        break;
      default:
        this.#scheduler.idle(id);
    }
    if (job.state === 'TRANSFERRED') {
      this.#hub.emit({ type: 'job:transferred', jobId: id });
      this.#notify.fire(id, 'TRANSFERRED');
    }
    if (job.state === 'ERROR' && job.error !== null) {
      const { fileIndex: _f, ...error } = job.error;
      this.#hub.emit({ type: 'job:error', jobId: id, error });
      this.#notify.fire(id, 'ERROR');
    }
    if (!isFinalState(job.state)) this.#store.saveTimers(id, this.#scheduler.timers(id));
  }

  #track(job: Job): void {
    this.#scheduler.track(job.id, {
      priority: job.priority,
      maxDownloadTimeS: job.maximumDownloadTime,
      noProgressTimeoutS: job.noProgressTimeout,
    });
  }

  #modified(job: Job): void {
    this.#scheduler.touch(job.id);
    this.#hub.emit({ type: 'job:modified', jobId: job.id });
  }

  // ── network and bandwidth policy ─────────────────────────────────────────────────────────

  #waitsForNetwork(job: Job): boolean {
    if (this.#network.isConnected()) return false;
    return job.files.some((f) => !f.transferred && (!this.#loopbackWithoutNetwork || needsNetwork(f.remoteName)));
  }

  /** No route out: network jobs wait in TRANSIENT_ERROR (ErrorCount unchanged); back: all retried. */
  #networkChanged(connected: boolean): void {
    if (connected) this.#releaseAll(NETWORK_DOWN, () => true);
    else this.#parkAll(NETWORK_DOWN, (job) => this.#waitsForNetwork(job));
  }

  /** MaxInternetBandwidth = 0 now: background jobs of `priority` wait in TRANSIENT_ERROR. */
  #policyBlockChanged(priority: JobPriority, blocked: boolean): void {
    if (blocked) this.#parkAll(POLICY_BLOCK, (job) => job.priority === priority);
    else this.#releaseAll(POLICY_BLOCK, (job) => job.priority === priority && job.error?.name === POLICY_BLOCK.error);
  }

  /** Stop and park every queued or running job the condition applies to. */
  #parkAll(cond: WaitCondition, applies: (job: Job) => boolean): void {
    for (const job of this.#store.listJobs()) {
      if (!applies(job)) continue;
      void this.#locked(job.id, async () => {
        if (!isParkable(this.#store.getJob(job.id))) return;
        await this.#stop(job.id, 'shutdown');
        const stopped = this.#store.getJob(job.id);
        if (isParkable(stopped) && applies(stopped)) this.#park(stopped, cond);
      });
    }
  }

  #park(job: Job, cond: WaitCondition): void {
    this.#store.transaction(() => this.#enterState(this.#apply(job, cond.park, conditionError(cond)), null));
  }

  /** The condition cleared: its TRANSIENT_ERROR jobs are queued again at once. */
  #releaseAll(cond: WaitCondition, applies: (job: Job) => boolean): void {
    for (const job of this.#store.listJobs()) {
      void this.#locked(job.id, () => {
        const current = this.#store.getJob(job.id);
        if (current?.state !== 'TRANSIENT_ERROR' || !applies(current)) return;
        this.#store.transaction(() => this.#enterState(this.#apply(current, cond.release)));
      });
    }
  }

  // ── running jobs ─────────────────────────────────────────────────────────────────────────

  /** Scheduler: QUEUED → CONNECTING, and run. */
  #start(id: string): void {
    if (this.#closed || this.#runners.has(id)) return;
    const job = this.#store.getJob(id);
    if (job === undefined || job.state !== 'QUEUED') return;
    if (this.#waitsForNetwork(job)) {
      this.#park(job, NETWORK_DOWN);
      return;
    }
    if (this.#bandwidth.isBlocked(job.priority)) {
      this.#park(job, POLICY_BLOCK);
      return;
    }
    const connecting = this.#store.transaction(() => {
      const picked = this.#apply(job, 'pick');
      this.#enterState(picked);
      return picked;
    });
    const abort = new AbortController();
    const done = this.#run(connecting, abort.signal).finally(() => {
      this.#runners.delete(id);
      this.#live.delete(id);
      this.#scheduler.kick();
    });
    this.#runners.set(id, { abort, done });
  }

  async #run(job: Job, signal: AbortSignal): Promise<void> {
    const id = job.id;
    let connected = false;
    const ctx = {
      store: this.#store,
      clock: this.#clock,
      signal,
      limiter: this.#bandwidth.limiterFor(job),
      checkpointBytes: this.#policy.checkpointBytes,
      checkpointMs: this.#policy.checkpointMilliseconds,
      // Every file's first response reports "connected"; only the first one moves the job.
      onConnected: () => {
        if (connected) return;
        connected = true;
        const current = this.#store.getJob(id);
        if (current?.state === 'CONNECTING')
          this.#store.transaction(() => this.#enterState(this.#apply(current, 'connected')));
      },
      onProgress: (files: readonly JobFile[], advanced: boolean) => this.#progress(id, files, advanced),
      onFileTransferred: (fileIndex: number) => this.#hub.emit({ type: 'file:transferred', jobId: id, fileIndex }),
      onReplyProgress: () => {
        this.#scheduler.progress(id);
        this.#hub.emit({ type: 'job:modified', jobId: id });
      },
    };
    const outcome = isUploadType(job.type) ? await runUploadJob(id, ctx) : await runDownloadJob(id, ctx);
    if (outcome.kind === 'aborted' || signal.aborted) return;
    const current = this.#store.getJob(id);
    if (current === undefined || !isActiveState(current.state)) return;
    if (outcome.kind === 'done') {
      this.#store.transaction(() => this.#enterState(this.#apply(current, 'all_files_done')));
      return;
    }
    this.#fail(current, outcome.failure, outcome.fileIndex);
  }

  #progress(id: string, files: readonly JobFile[], advanced: boolean): void {
    if (advanced) this.#scheduler.progress(id);
    this.#live.set(id, files);
    const progress: JobProgress = jobProgress(files);
    this.#hub.emit({ type: 'job:progress', jobId: id, progress });
  }

  /** A failed run: fatal → ERROR; transient → TRANSIENT_ERROR and a retry (or ERROR by NoProgressTimeout rules). */
  #fail(job: Job, failure: TransferFailure, fileIndex: number | null): void {
    const error = { ...failure.error, fileIndex };
    if (failure.kind === 'fatal' || job.noProgressTimeout === 0) {
      this.#store.transaction(() => this.#enterState(this.#apply(job, 'fatal_failure', error)));
      return;
    }
    const next = this.#apply(job, 'transient_failure', error);
    // BITS: if MinimumRetryDelay > NoProgressTimeout there is no retry; the job goes to ERROR.
    if (job.minimumRetryDelay > job.noProgressTimeout) {
      this.#store.transaction(() => this.#enterState(this.#apply(next, 'no_progress_timeout')));
      return;
    }
    const delay = Math.max(job.minimumRetryDelay * 1000, failure.retryAfterMs ?? 0);
    this.#enterState(next, delay);
  }

  #retryDue(id: string): void {
    const job = this.#store.getJob(id);
    if (job?.state !== 'TRANSIENT_ERROR') return;
    if (this.#scheduler.noProgressExpired(id)) {
      this.#store.transaction(() => this.#enterState(this.#apply(job, 'no_progress_timeout')));
      return;
    }
    this.#store.transaction(() => this.#enterState(this.#apply(job, 'retry_timer')));
  }

  #timeout(id: string, event: 'no_progress_timeout'): void {
    const job = this.#store.getJob(id);
    if (job?.state !== 'TRANSIENT_ERROR') return;
    this.#store.transaction(() => this.#enterState(this.#apply(job, event)));
  }

  /** Stop a running transfer (at a checkpoint) and wait until it has stopped. */
  async #stop(id: string, _reason: StopReason): Promise<void> {
    const runner = this.#runners.get(id);
    if (runner === undefined) return;
    runner.abort.abort();
    await runner.done;
  }

  async #preempt(id: string): Promise<void> {
    await this.#locked(id, async () => {
      await this.#stop(id, 'preempt');
      const job = this.#store.getJob(id);
      if (job !== undefined && isActiveState(job.state))
        this.#store.transaction(() => this.#enterState(this.#apply(job, 'slice_end')));
    });
  }

  async #maxDownloadTime(id: string): Promise<void> {
    await this.#locked(id, async () => {
      await this.#stop(id, 'max_download_time');
      const job = this.#store.getJob(id);
      if (job === undefined || !isActiveState(job.state)) return;
      const error = new BitsError(
        'BG_E_MAXDOWNLOAD_TIMEOUT',
        `the job spent more than ${job.maximumDownloadTime} s connecting and transferring`,
        { context: 'GENERAL_QUEUE_MANAGER' },
      ).toJSON();
      this.#store.transaction(() =>
        this.#enterState(this.#apply(job, 'max_download_time', { ...error, fileIndex: null })),
      );
    });
  }

  async #inactivity(id: string): Promise<void> {
    await this.#locked(id, async () => {
      await this.#stop(id, 'cancel');
      const job = this.#store.getJob(id);
      if (job === undefined || isFinalState(job.state)) return;
      await discardFiles(job);
      this.#store.transaction(() => this.#enterState(this.#apply(this.#store.getJob(id) ?? job, 'inactivity_timeout')));
    });
  }

  /** A job as callers see it: the store's record with the live byte counts of a running transfer. */
  #view(job: Job): Job {
    return withLiveProgress(job, this.#live.get(job.id));
  }

  // ── BitsManager: manager methods ─────────────────────────────────────────────────────────

  async createJob(displayName: string, type: JobType = 'DOWNLOAD'): Promise<JobInfo> {
    const name = validateDisplayName(displayName);
    const jobType = validateJobType(type);
    // The job row and its timers in one commit (one fsync).
    const job = this.#store.transaction(() => {
      const created = this.#store.createJob({
        id: randomUUID(),
        type: jobType,
        displayName: name,
        owner: this.#owner,
        isAdmin: this.#isAdmin,
        now: this.#now(),
      });
      this.#track(created);
      this.#scheduler.idle(created.id);
      this.#store.saveTimers(created.id, this.#scheduler.timers(created.id));
      return created;
    });
    this.#hub.emit({ type: 'job:created', jobId: job.id });
    return toJobInfo(job);
  }

  async getJob(jobId: string): Promise<JobInfo> {
    return toJobInfo(this.#view(this.#job(jobId, true)));
  }

  async enumJobs(options: { allUsers?: boolean } = {}): Promise<JobInfo[]> {
    if (options.allUsers === true && !this.#isAdmin) {
      throw new BitsError('E_ACCESSDENIED', 'listing all users’ jobs needs an administrator');
    }
    const jobs = this.#store.listJobs(options.allUsers === true ? {} : { owner: this.#owner });
    return jobs.map((j) => toJobInfo(this.#view(j)));
  }

  async findJob(nameOrId: string): Promise<JobInfo> {
    if (normalizeJobId(nameOrId) !== null) return this.getJob(nameOrId);
    const matches = this.#store.listJobs({ owner: this.#owner }).filter((j) => j.displayName === nameOrId);
    if (matches.length === 0) throw new BitsError('BG_E_NOT_FOUND', `no job is named ${JSON.stringify(nameOrId)}`);
    if (matches.length > 1) {
      throw new BitsError(
        'E_INVALIDARG',
        `${matches.length} jobs are named ${JSON.stringify(nameOrId)}; use a GUID: ${matches.map((j) => `{${j.id}}`).join(' ')}`,
      );
    }
    return toJobInfo(this.#view(matches[0] as Job));
  }

  async getErrorDescription(hresult: number): Promise<string> {
    const name = errorNameForHresult(hresult);
    const info = name === undefined ? undefined : errorInfo(name);
    if (info === undefined) throw new BitsError('E_INVALIDARG', `unknown HRESULT ${hresult}`);
    return info.message;
  }

  // ── files ────────────────────────────────────────────────────────────────────────────────

  async addFile(jobId: string, remoteName: string, localName: string): Promise<void> {
    await this.addFileSet(jobId, [{ remoteName, localName }]);
  }

  async addFileSet(jobId: string, files: ReadonlyArray<{ remoteName: string; localName: string }>): Promise<void> {
    await this.#addFiles(jobId, files, 'addFile');
  }

  async addFileWithRanges(
    jobId: string,
    remoteName: string,
    localName: string,
    ranges: readonly FileRange[],
  ): Promise<void> {
    await this.#addFiles(jobId, [{ remoteName, localName, ranges }], 'addFileWithRanges');
  }

  async #addFiles(
    jobId: string,
    files: ReadonlyArray<{ remoteName: string; localName: string; ranges?: readonly FileRange[] }>,
    method: 'addFile' | 'addFileWithRanges',
  ): Promise<void> {
    await this.#locked(jobId, async () => {
      const job = this.#job(jobId);
      this.#check(method, job);
      if (!Array.isArray(files) || files.length === 0) throw new BitsError('E_INVALIDARG', 'no files given');
      if (isUploadType(job.type) && files.length + job.files.length > 1) {
        throw new BitsError('BG_E_TOO_MANY_FILES', 'upload jobs take exactly one file');
      }
      const checked: NewFile[] = [];
      for (const f of files) {
        const remoteName = validateRemoteUrl(f.remoteName, { uploadOnly: isUploadType(job.type) });
        const localName = validateLocalPath(f.localName);
        const ranges = f.ranges === undefined ? null : validateRanges(f.ranges);
        if (isUploadType(job.type)) await checkUploadSource(localName);
        else await checkLocalDestination(localName);
        checked.push({ remoteName, localName, ranges });
      }
      const next = this.#store.addFiles(job.id, checked, {
        owner: this.#owner,
        isAdmin: this.#isAdmin,
        now: this.#now(),
      });
      this.#modified(next);
    });
  }

  async enumFiles(jobId: string): Promise<FileInfo[]> {
    return this.#view(this.#job(jobId)).files.map(toFileInfo);
  }

  async setRemoteName(jobId: string, fileIndex: number, remoteName: string): Promise<void> {
    await this.#locked(jobId, async () => {
      const job = this.#job(jobId);
      this.#check('setRemoteName', job);
      const file = job.files[fileIndex];
      if (file === undefined) throw new BitsError('E_INVALIDARG', `the job has no file ${fileIndex}`);
      const url = validateRemoteUrl(remoteName);
      await this.#stop(job.id, 'modify');
      this.#store.updateFile(job.id, fileIndex, { remoteName: url }, this.#now());
      this.#modified(this.#requeueIfActive(job.id));
    });
  }

  async replaceRemotePrefix(jobId: string, oldPrefix: string, newPrefix: string): Promise<ResultCode> {
    return this.#locked(jobId, async () => {
      const job = this.#job(jobId);
      this.#check('replaceRemotePrefix', job);
      if (typeof oldPrefix !== 'string' || typeof newPrefix !== 'string' || oldPrefix === '' || newPrefix === '') {
        throw new BitsError('E_INVALIDARG', 'both prefixes must be non-empty strings');
      }
      const changes: Array<[number, string]> = [];
      for (const f of job.files) {
        if (f.transferred || !f.remoteName.startsWith(oldPrefix)) continue;
        changes.push([f.index, validateRemoteUrl(newPrefix + f.remoteName.slice(oldPrefix.length))]);
      }
      if (changes.length === 0) return 'S_FALSE';
      await this.#stop(job.id, 'modify');
      for (const [index, url] of changes) this.#store.updateFile(job.id, index, { remoteName: url }, this.#now());
      this.#modified(this.#requeueIfActive(job.id));
      return 'S_OK';
    });
  }

  /** After a change that needs the transfer restarted: a stopped active job goes back to QUEUED. */
  #requeueIfActive(id: string): Job {
    const job = this.#store.getJob(id) as Job;
    if (!isActiveState(job.state)) return job;
    const next = this.#store.transaction(() => {
      const applied = this.#apply(job, 'slice_end');
      this.#enterState(applied);
      return applied;
    });
    return next;
  }

  // ── state methods ────────────────────────────────────────────────────────────────────────

  async resume(jobId: string): Promise<void> {
    await this.#locked(jobId, async () => {
      const job = this.#job(jobId);
      this.#check('resume', job);
      this.#scheduler.touch(job.id);
      if (isActiveState(job.state) || job.state === 'QUEUED') return;
      // Resume on TRANSFERRED only matters once files were added after the transfer.
      if (job.state === 'TRANSFERRED' && job.files.every((f) => f.transferred)) return;
      this.#scheduler.resetActiveTime(job.id);
      this.#store.transaction(() => this.#enterState(this.#apply(job, 'resume')));
    });
  }

  async suspend(jobId: string): Promise<void> {
    await this.#locked(jobId, async () => {
      this.#check('suspend', this.#job(jobId));
      await this.#stop(this.#id(jobId), 'suspend');
      const job = this.#job(jobId);
      this.#store.transaction(() => this.#enterState(this.#apply(job, 'suspend')));
    });
  }

  async cancel(jobId: string): Promise<ResultCode> {
    return this.#locked(jobId, async () => {
      this.#check('cancel', this.#job(jobId));
      await this.#stop(this.#id(jobId), 'cancel');
      const job = this.#job(jobId);
      if (!isUploadType(job.type)) {
        const result = await discardFiles(job);
        this.#store.transaction(() => this.#enterState(this.#apply(job, 'cancel')));
        return result;
      }
      const session = uploadStateOf(this.#store.getTransferState(job.id));
      const deleted = await discardUploadLocalState(session);
      this.#store.transaction(() => this.#enterState(this.#apply(job, 'cancel')));
      const file = job.files[0];
      if (file !== undefined && !file.transferred) {
        this.#uploadCancels.add(
          job.id,
          file.remoteName,
          session,
          {
            customHeaders: parseCustomHeaders(job.customHeaders),
            credentials: job.credentials,
            proxy: job.proxy,
            securityFlags: job.securityFlags,
          },
          job.noProgressTimeout * 1000,
        );
      }
      return deleted ? 'S_OK' : 'BG_S_UNABLE_TO_DELETE_FILES';
    });
  }

  async complete(jobId: string): Promise<ResultCode> {
    return this.#locked(jobId, async () => {
      this.#check('complete', this.#job(jobId));
      await this.#stop(this.#id(jobId), 'complete');
      let job = this.#job(jobId);
      if (isActiveState(job.state)) job = this.#apply(job, 'slice_end');
      const result = isUploadType(job.type)
        ? await this.#publishReply(job)
        : await publishFiles(job, this.#store, () => this.#now());
      const fresh = this.#store.getJob(job.id) as Job;
      this.#store.transaction(() => this.#enterState(this.#apply(fresh, 'complete')));
      return result;
    });
  }

  /** Upload-reply Complete: the reply file is renamed into place (uploads need no network here). */
  async #publishReply(job: Job): Promise<ResultCode> {
    if (job.type !== 'UPLOAD_REPLY') return 'S_OK';
    const session = uploadStateOf(this.#store.getTransferState(job.id));
    if (session.replyTemporaryName === null || session.replyFileName === null) return 'S_OK';
    await commitFile(session.replyTemporaryName, session.replyFileName, { mode: job.fileMode });
    this.#store.saveTransferState(job.id, { ...session, replyTemporaryName: null });
    return 'S_OK';
  }

  // ── getters ──────────────────────────────────────────────────────────────────────────────

  async getProgress(jobId: string): Promise<JobProgress> {
    return jobProgress(this.#view(this.#job(jobId)).files);
  }

  async getTimes(jobId: string): Promise<JobTimes> {
    return this.#job(jobId).times;
  }

  async getError(jobId: string): Promise<JobErrorInfo> {
    const job = this.#job(jobId);
    this.#check('getError', job);
    const info = toErrorInfo(job);
    if (info === null) throw new BitsError('BG_E_ERROR_INFORMATION_UNAVAILABLE');
    return info;
  }

  async getCustomHeaders(jobId: string): Promise<string[] | null> {
    const job = this.#job(jobId);
    if (job.customHeadersWriteOnly) throw new BitsError('E_ACCESSDENIED', 'the custom headers are write-only');
    if (job.owner !== this.#owner) throw new BitsError('E_ACCESSDENIED', 'only the owner can read custom headers');
    return job.customHeaders === null ? null : job.customHeaders.split('\r\n').filter((l) => l !== '');
  }

  async getReplyFileName(jobId: string): Promise<string | null> {
    const job = this.#job(jobId);
    this.#check('getReplyFileName', job);
    return job.replyFileName;
  }

  async getReplyProgress(jobId: string): Promise<ReplyProgress> {
    const job = this.#job(jobId);
    this.#check('getReplyProgress', job);
    return replyProgressOf(uploadStateOf(this.#store.getTransferState(job.id)));
  }

  /** GetReplyData: in TRANSFERRED, and after Complete too (BITS allows both). */
  async getReplyData(jobId: string): Promise<Buffer | null> {
    const id = this.#id(jobId);
    const job = this.#store.getJob(id);
    if (job === undefined || (job.owner !== this.#owner && !this.#isAdmin) || job.state === 'CANCELLED') {
      throw new BitsError('BG_E_NOT_FOUND', `job ${id} was not found`);
    }
    this.#check('getReplyData', job);
    const session = uploadStateOf(this.#store.getTransferState(id));
    const path = session.replyTemporaryName ?? session.replyFileName;
    if (session.replyUrl === null || path === null) return null;
    const reply = await readReply(path);
    if (reply.data === null) {
      throw new BitsError('BG_E_TOO_LARGE', `the reply is ${reply.size} bytes; GetReplyData returns at most 1 MiB`);
    }
    return reply.data;
  }

  // ── setters ──────────────────────────────────────────────────────────────────────────────

  async #set(jobId: string, method: JobMethod, patch: JobPatch): Promise<void> {
    await this.#locked(jobId, () => {
      const job = this.#job(jobId);
      this.#check(method, job);
      const next = this.#store.updateJob(job.id, method, patch, this.#now());
      this.#track(next);
      this.#modified(next);
      if (method === 'setNotifyCmdLine' || method === 'setNotifyFlags') this.#notify.fireIfDue(next.id);
    });
  }

  async setDisplayName(jobId: string, name: string): Promise<void> {
    return this.#set(jobId, 'setDisplayName', { displayName: validateDisplayName(name) });
  }
  async setDescription(jobId: string, description: string): Promise<void> {
    return this.#set(jobId, 'setDescription', { description: validateDescription(description) });
  }
  async setPriority(jobId: string, priority: JobPriority): Promise<void> {
    return this.#set(jobId, 'setPriority', { priority: validatePriority(priority) });
  }
  async setNotifyFlags(jobId: string, flags: number): Promise<void> {
    return this.#set(jobId, 'setNotifyFlags', { notifyFlags: validateNotifyFlags(flags) });
  }
  async setNotifyCmdLine(jobId: string, program: string | null, parameters: string | null): Promise<void> {
    return this.#set(jobId, 'setNotifyCmdLine', { notifyCmdLine: validateNotifyCmdLine(program, parameters) });
  }
  async setMinimumRetryDelay(jobId: string, seconds: number): Promise<void> {
    return this.#set(jobId, 'setMinimumRetryDelay', { minimumRetryDelay: validateMinimumRetryDelay(seconds) });
  }
  async setNoProgressTimeout(jobId: string, seconds: number): Promise<void> {
    return this.#set(jobId, 'setNoProgressTimeout', {
      noProgressTimeout: validateSeconds(seconds, 'no-progress timeout'),
    });
  }
  async setMaximumDownloadTime(jobId: string, seconds: number): Promise<void> {
    return this.#set(jobId, 'setMaximumDownloadTime', {
      maximumDownloadTime: validateSeconds(seconds, 'maximum download time'),
    });
  }
  async setProxySettings(jobId: string, settings: ProxySettings): Promise<void> {
    return this.#set(jobId, 'setProxySettings', { proxy: validateProxySettings(settings) });
  }
  async setCustomHeaders(jobId: string, headers: readonly string[] | null): Promise<void> {
    return this.#set(jobId, 'setCustomHeaders', { customHeaders: validateCustomHeaders(headers) });
  }
  async makeCustomHeadersWriteOnly(jobId: string): Promise<void> {
    return this.#set(jobId, 'makeCustomHeadersWriteOnly', { customHeadersWriteOnly: true });
  }
  async setCredentials(jobId: string, credentials: Credentials): Promise<void> {
    const creds = validateCredentials(credentials);
    const job = this.#job(jobId);
    const others = job.credentials.filter((c) => !(c.target === creds.target && c.scheme === creds.scheme));
    await this.#set(jobId, 'setCredentials', { credentials: [...others, creds] });
  }
  async removeCredentials(jobId: string, target: AuthTarget, scheme: AuthScheme): Promise<ResultCode> {
    const job = this.#job(jobId);
    const kept = job.credentials.filter((c) => !(c.target === target && c.scheme === scheme));
    if (kept.length === job.credentials.length) {
      this.#check('removeCredentials', job);
      return 'S_FALSE';
    }
    await this.#set(jobId, 'removeCredentials', { credentials: kept });
    return 'S_OK';
  }
  async setSecurityFlags(jobId: string, flags: number): Promise<void> {
    return this.#set(jobId, 'setSecurityFlags', { securityFlags: validateSecurityFlags(flags) });
  }
  async setDynamicContent(jobId: string, enable: boolean): Promise<void> {
    return this.#set(jobId, 'setDynamicContent', { dynamicContent: enable === true });
  }
  async setHighPerformance(jobId: string, enable: boolean): Promise<void> {
    return this.#set(jobId, 'setHighPerformance', { highPerformance: enable === true });
  }
  async setMaxDownloadSize(jobId: string, bytes: number | null): Promise<void> {
    if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes <= 0)) {
      throw new BitsError('BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE');
    }
    return this.#set(jobId, 'setMaxDownloadSize', { maxDownloadSize: bytes });
  }
  async setMaxBandwidth(jobId: string, bytesPerSecond: number): Promise<void> {
    await this.#set(jobId, 'setMaxBandwidth', { maxBandwidth: validateBandwidth(bytesPerSecond) });
    this.#bandwidth.setJobRate(this.#id(jobId), bytesPerSecond);
  }
  async setFileMode(jobId: string, mode: number | null): Promise<void> {
    await this.#set(jobId, 'setFileMode', { fileMode: validateFileMode(mode) });
  }
  async setReplyFileName(jobId: string, path: string | null): Promise<void> {
    return this.#set(jobId, 'setReplyFileName', {
      replyFileName: path === null || path === '' ? null : validateLocalPath(path, 'reply file name'),
    });
  }
  async takeOwnership(jobId: string): Promise<void> {
    if (!this.#isAdmin) throw new BitsError('E_ACCESSDENIED', 'TakeOwnership needs an administrator');
    await this.#set(jobId, 'takeOwnership', {
      owner: this.#owner,
      credentials: [],
      customHeaders: null,
      notifyCmdLine: null,
    });
  }

  // ── events and lifetime ──────────────────────────────────────────────────────────────────

  subscribe(listener: (event: ManagerEvent) => void, filter?: { jobId?: string }): () => void {
    return this.#hub.subscribe(listener, filter);
  }

  events(options?: { jobId?: string; signal?: AbortSignal }): AsyncIterable<ManagerEvent> {
    return this.#hub.iterate(options);
  }

  /** Stop every transfer at a checkpoint, save timers, close the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#scheduler.stop();
    const running = [...this.#runners.keys()];
    await Promise.all(running.map((id) => this.#stop(id, 'shutdown')));
    for (const job of this.#store.listJobs()) this.#store.saveTimers(job.id, this.#scheduler.timers(job.id));
    this.#notify.stop();
    this.#uploadCancels.stop();
    this.#bandwidth.stop();
    this.#network.close();
    this.#hub.close();
    this.#store.close();
  }

  /** The state of a job, for tests and the daemon (no ownership check). */
  peekState(jobId: string): JobState | undefined {
    return this.#store.getJob(this.#id(jobId))?.state;
  }
}
