import { randomUUID } from 'node:crypto';
import type {
  BitsManager,
  FileInfo,
  JobErrorInfo,
  JobInfo,
  JobSummary,
  ManagerEvent,
  NewFileSpec,
  PolicyDocument,
  ResultCode,
} from '../api/bits-manager.ts';
import {
  type AuthScheme,
  type AuthTarget,
  BitsError,
  type Credentials,
  costStateName,
  errorInfo,
  errorNameForHresult,
  FINISHED_JOB_RETENTION_MS,
  type FileDigest,
  type FileRange,
  isActiveState,
  isUploadType,
  type Job,
  type JobMethod,
  type JobPriority,
  type JobProgress,
  type JobState,
  type JobTimes,
  type JobType,
  jobProgress,
  normalizeJobId,
  type PieceDigests,
  type ProxySettings,
  quoted,
  type ReplyProgress,
  type TimerHandle,
  type Webhook,
} from '../core/index.ts';
import type { FilePatch, JobPatch } from '../store/job-store.ts';
import { discardFiles, publishFiles } from './finish-job.ts';
import { type Caller, JobAccess } from './job-access.ts';
import { JobFiles } from './job-files.ts';
import { toErrorInfo, toFileInfo, toJobInfo, withLiveProgress } from './job-info.ts';
import { assembleManager, type ManagerOptions, type ManagerParts } from './manager-parts.ts';
import type { ServiceMetrics } from './metrics/service-metrics.ts';
import type { Policy } from './policy-file.ts';
import { transferOptionsOf } from './transfer-options.ts';
import { replyProgressOf } from './upload-reply.ts';

export type { ManagerOptions } from './manager-parts.ts';

/** Jobs are created, changed and run in this process (the library interface of DESIGN.md §1). */
export async function createManager(options: ManagerOptions): Promise<InProcessManager> {
  const manager = new InProcessManager(options);
  await manager.recover();
  return manager;
}

/**
 * The in-process manager; bitsd serves this same object over its socket. A façade over named
 * parts (manager-parts.ts): it checks who may call what, serialises the calls that change a job,
 * and hands the work on — every state change to the transition step (job-transitions.ts),
 * running jobs to the runs (job-runs.ts), parking to the wait conditions, the policy to policy
 * control, upload specifics to upload-reply.ts, files to job-files.ts. Values, legality and
 * quotas are the store's rules; the checks that need I/O are made before the store is asked.
 */
export class InProcessManager implements BitsManager {
  readonly #p: ManagerParts;
  readonly #files: JobFiles;
  /** A caller's view (asCaller) shares the parts and closes nothing. */
  readonly #isView: boolean;
  #closed = false;
  #purgeTimer: TimerHandle | undefined;

  constructor(options: ManagerOptions | { readonly viewOf: ManagerParts }) {
    this.#isView = 'viewOf' in options;
    this.#p = 'viewOf' in options ? options.viewOf : assembleManager(options);
    this.#files = new JobFiles(this.#p);
  }

  /**
   * The same service as another caller sees it (system mode: one view per user's socket): their
   * jobs only (all of them for an administrator), their quotas, their events, and the policy
   * only if they may configure it. Closing a view closes nothing.
   */
  asCaller(caller: Caller): InProcessManager {
    return new InProcessManager({ viewOf: { ...this.#p, access: new JobAccess(this.#p.store, caller) } });
  }

  /** Prometheus metrics (when the options asked for them). */
  get metrics(): ServiceMetrics | undefined {
    return this.#p.metrics;
  }

  /**
   * Start-up (createManager does it): read the network's cost, re-queue what was transferring,
   * restore timers, then queue again the jobs whose wait condition cleared while it was down
   * (owners back, network up, window ended, cost changed).
   */
  async recover(): Promise<void> {
    await this.#p.cost.start();
    await this.#p.transitions.recover();
    this.#p.waits.ownersRechecked();
    this.#p.waits.reconcile();
    this.#purgeFinished();
  }

  /** Finished jobs stay readable by id for FINISHED_JOB_RETENTION_MS; checked hourly. */
  #purgeFinished(): void {
    if (this.#closed) return;
    const { store, clock } = this.#p;
    store.purgeFinal(clock.wallMs() - FINISHED_JOB_RETENTION_MS);
    this.#purgeTimer = clock.setTimer(FINISHED_JOB_RETENTION_MS / 24, () => this.#purgeFinished());
  }

  // ── jobs ─────────────────────────────────────────────────────────────────────────────────

  async createJob(displayName: string, type: JobType = 'DOWNLOAD'): Promise<JobInfo> {
    const { access, transitions, clock } = this.#p;
    const job = await transitions.create({
      ...access.quotaCaller,
      id: randomUUID(),
      type,
      displayName,
      now: clock.wallMs(),
    });
    return this.#info(job);
  }

  async getJob(jobId: string, options: { files?: boolean } = {}): Promise<JobInfo> {
    return this.#shown(this.#info(this.#p.access.job(jobId, true), options.files !== false));
  }

  async enumJobs(options: { allUsers?: boolean } = {}): Promise<JobInfo[]> {
    return this.#shown(this.#p.listed.views(this.#listed(options)));
  }

  async enumJobSummaries(options: { allUsers?: boolean } = {}): Promise<JobSummary[]> {
    return this.#shown(this.#p.listed.summaries(this.#listed(options)));
  }

  /** The jobs a list shows the caller (allUsers: an administrator's call only). */
  #listed(options: { allUsers?: boolean }): readonly Job[] {
    const { owner, isAdmin } = this.#p.access.caller;
    if (options.allUsers === true && !isAdmin) {
      throw new BitsError('E_ACCESSDENIED', 'listing all users’ jobs needs an administrator');
    }
    return this.#p.store.listJobs(options.allUsers === true ? {} : { owner });
  }

  async findJob(nameOrId: string, options: { files?: boolean } = {}): Promise<JobInfo> {
    if (normalizeJobId(nameOrId) !== null) return this.getJob(nameOrId, options);
    const { owner } = this.#p.access.caller;
    const matches = this.#p.store.listJobs({ owner }).filter((j) => j.displayName === nameOrId);
    if (matches.length === 0) throw new BitsError('BG_E_NOT_FOUND', `no job is named ${quoted(nameOrId)}`);
    if (matches.length > 1) {
      throw new BitsError(
        'E_INVALIDARG',
        `${matches.length} jobs are named ${quoted(nameOrId)}; use a GUID: ${matches.map((j) => `{${j.id}}`).join(' ')}`,
      );
    }
    return this.#shown(this.#info(matches[0] as Job, options.files !== false));
  }

  async getErrorDescription(hresult: number): Promise<string> {
    const name = errorNameForHresult(hresult);
    const info = name === undefined ? undefined : errorInfo(name);
    if (info === undefined) throw new BitsError('E_INVALIDARG', `unknown HRESULT ${hresult}`);
    return info.message;
  }

  // ── files ────────────────────────────────────────────────────────────────────────────────

  async addFile(jobId: string, remoteName: string, localName: string): Promise<void> {
    await this.#files.add(jobId, [{ remoteName, localName }], 'addFile');
  }

  async addFileSet(jobId: string, files: ReadonlyArray<NewFileSpec>): Promise<void> {
    await this.#files.add(jobId, files, 'addFile');
  }

  async addFileWithRanges(jobId: string, remoteName: string, localName: string, ranges: readonly FileRange[]) {
    await this.#files.add(jobId, [{ remoteName, localName, ranges }], 'addFileWithRanges');
  }

  async enumFiles(jobId: string): Promise<FileInfo[]> {
    return this.#shown(this.#view(this.#p.access.held(jobId, 'enumFiles')).files.map(toFileInfo));
  }

  async setRemoteName(jobId: string, fileIndex: number, remoteName: string): Promise<void> {
    await this.#files.changeFiles(jobId, 'setRemoteName', (job) => {
      if (job.files[fileIndex] === undefined) throw new BitsError('E_INVALIDARG', `the job has no file ${fileIndex}`);
      return [[fileIndex, { remoteName }]];
    });
  }

  async setFileMirrors(jobId: string, fileIndex: number, urls: readonly string[]): Promise<void> {
    await this.#files.changeFiles(jobId, 'setFileMirrors', (job) => {
      if (job.files[fileIndex] === undefined) throw new BitsError('E_INVALIDARG', `the job has no file ${fileIndex}`);
      return [[fileIndex, { mirrors: urls }]];
    });
  }

  async setFileDigests(
    jobId: string,
    fileIndex: number,
    digests: readonly FileDigest[],
    pieces?: PieceDigests | null,
  ): Promise<void> {
    await this.#files.changeFiles(jobId, 'setFileDigests', (job) => {
      if (job.files[fileIndex] === undefined) throw new BitsError('E_INVALIDARG', `the job has no file ${fileIndex}`);
      return [[fileIndex, pieces === undefined ? { digests } : { digests, pieces }]];
    });
  }

  async replaceRemotePrefix(jobId: string, oldPrefix: string, newPrefix: string): Promise<ResultCode> {
    return this.#files.changeFiles(jobId, 'replaceRemotePrefix', (job) => {
      if (typeof oldPrefix !== 'string' || typeof newPrefix !== 'string' || oldPrefix === '' || newPrefix === '') {
        throw new BitsError('E_INVALIDARG', 'both prefixes must be non-empty strings');
      }
      return job.files
        .filter((f) => !f.transferred && f.remoteName.startsWith(oldPrefix))
        .map((f): [number, FilePatch] => [f.index, { remoteName: newPrefix + f.remoteName.slice(oldPrefix.length) }]);
    });
  }

  // ── state methods ────────────────────────────────────────────────────────────────────────

  async resume(jobId: string): Promise<void> {
    const { access, locks, scheduler, transitions } = this.#p;
    await locks.run(access.id(jobId), async () => {
      const job = access.job(jobId);
      access.check('resume', job);
      scheduler.touch(job.id);
      if (isActiveState(job.state) || job.state === 'QUEUED') return;
      // Resume on TRANSFERRED only matters once files were added after the transfer.
      if (job.state === 'TRANSFERRED' && job.files.every((f) => f.transferred)) return;
      scheduler.resetActiveTime(job.id);
      await transitions.step(job, 'resume');
    });
  }

  async suspend(jobId: string): Promise<void> {
    await this.#stopThen(jobId, 'suspend', async (job) => {
      await this.#p.transitions.step(job, 'suspend');
      return 'S_OK';
    });
  }

  async cancel(jobId: string): Promise<ResultCode> {
    const { transitions, uploads, policy } = this.#p;
    return this.#stopThen(jobId, 'cancel', async (job) => {
      if (!isUploadType(job.type)) {
        const result = await discardFiles(job, this.#p.io);
        await transitions.step(job, 'cancel');
        return result;
      }
      const { result, session } = await uploads.discard(job);
      await transitions.step(job, 'cancel');
      const { checkpointBytes, checkpointMilliseconds: checkpointMs } = policy.policy;
      uploads.tellServer(job, session, transferOptionsOf(job, { checkpointBytes, checkpointMs }));
      return result;
    });
  }

  async complete(jobId: string): Promise<ResultCode> {
    const { transitions, uploads, store, clock } = this.#p;
    return this.#stopThen(jobId, 'complete', async (job) => {
      let result: ResultCode;
      try {
        result = isUploadType(job.type)
          ? await uploads.publish(job)
          : await publishFiles(job, store, this.#p.io, () => clock.wallMs());
      } catch (err) {
        // A rename failed: the job stays (a stopped transfer back in the queue) for another try.
        if (isActiveState(job.state)) await transitions.step(job, 'slice_end');
        throw err;
      }
      await transitions.step(store.getJob(job.id) as Job, 'complete');
      return result;
    });
  }

  /** A state method: legal now (checked before anything stops), the transfer stopped, then `fn`. */
  async #stopThen(jobId: string, method: JobMethod, fn: (job: Job) => Promise<ResultCode>): Promise<ResultCode> {
    const { access, locks, runs } = this.#p;
    return locks.run(access.id(jobId), async () => {
      access.check(method, access.job(jobId));
      await runs.stop(access.id(jobId));
      return fn(access.job(jobId));
    });
  }

  // ── getters ──────────────────────────────────────────────────────────────────────────────

  async getState(jobId: string): Promise<JobState> {
    return this.#shown(this.#p.access.held(jobId, 'getState').state);
  }

  async getProgress(jobId: string): Promise<JobProgress> {
    return this.#shown(jobProgress(this.#view(this.#p.access.held(jobId, 'getProgress')).files));
  }

  async getTimes(jobId: string): Promise<JobTimes> {
    return this.#shown(this.#p.access.held(jobId, 'getTimes').times);
  }

  async getError(jobId: string): Promise<JobErrorInfo> {
    const job = this.#p.access.held(jobId, 'getError');
    const info = toErrorInfo(job);
    if (info === null) throw new BitsError('BG_E_ERROR_INFORMATION_UNAVAILABLE');
    return this.#shown(info);
  }

  async getCustomHeaders(jobId: string): Promise<string[] | null> {
    const job = this.#p.access.held(jobId, 'getCustomHeaders');
    if (job.customHeadersWriteOnly) throw new BitsError('E_ACCESSDENIED', 'the custom headers are write-only');
    if (!this.#p.access.owns(job)) throw new BitsError('E_ACCESSDENIED', 'only the owner can read custom headers');
    return job.customHeaders === null ? null : job.customHeaders.split('\r\n').filter((l) => l !== '');
  }

  async getReplyFileName(jobId: string): Promise<string | null> {
    return this.#p.access.held(jobId, 'getReplyFileName').replyFileName;
  }

  async getReplyProgress(jobId: string): Promise<ReplyProgress> {
    return replyProgressOf(this.#p.uploads.sessionOf(this.#p.access.held(jobId, 'getReplyProgress').id));
  }

  /** GetReplyData: in TRANSFERRED, and after Complete too (BITS allows both). */
  async getReplyData(jobId: string): Promise<Buffer | null> {
    const { access, uploads } = this.#p;
    const job = access.find(jobId);
    if (job === undefined || job.state === 'CANCELLED') {
      throw new BitsError('BG_E_NOT_FOUND', `job ${access.id(jobId)} was not found`);
    }
    access.check('getReplyData', job);
    return uploads.replyData(job);
  }

  // ── setters ──────────────────────────────────────────────────────────────────────────────

  /**
   * A property setter: the patch is built inside the job's lock from the job as it is then (a
   * setter that merges into a list must not read it before an earlier call has written it); the
   * store judges legality and values; effects follow once the change is durable. A builder that
   * returns null changes nothing (S_FALSE), if the method is legal at all.
   */
  async #set(jobId: string, method: JobMethod, patch: JobPatch | ((job: Job) => JobPatch | null)): Promise<ResultCode> {
    const { access, locks, store, transitions, notify, bandwidth, clock, waits } = this.#p;
    return locks.run(access.id(jobId), async () => {
      const job = access.job(jobId);
      access.checkOwnerOnly(method, job);
      const changes = typeof patch === 'function' ? patch(job) : patch;
      if (changes === null) {
        access.check(method, job);
        return 'S_FALSE';
      }
      const next = await transitions.changed(store.updateJob(job.id, method, changes, clock.wallMs()));
      if (method === 'setNotifyCmdLine' || method === 'setNotifyFlags') notify.fireIfDue(next.id);
      if (method === 'setMaxBandwidth') bandwidth.setJobRate(next.id, next.maxBandwidth);
      // FOREGROUND jobs wait for their owner's session even where background ones need not.
      if (method === 'setPriority') waits.ownersRechecked(next.id);
      if (method === 'setCostFlags' || method === 'setPriority') this.#p.waits.costFlagsChanged(next.id);
      return 'S_OK';
    });
  }

  async setDisplayName(jobId: string, displayName: string): Promise<void> {
    await this.#set(jobId, 'setDisplayName', { displayName });
  }
  async setDescription(jobId: string, description: string): Promise<void> {
    await this.#set(jobId, 'setDescription', { description });
  }
  async setPriority(jobId: string, priority: JobPriority): Promise<void> {
    await this.#set(jobId, 'setPriority', { priority });
  }
  async setNotifyFlags(jobId: string, notifyFlags: number): Promise<void> {
    await this.#set(jobId, 'setNotifyFlags', { notifyFlags });
  }
  async setWebhooks(jobId: string, hooks: readonly Webhook[] | null): Promise<void> {
    await this.#set(jobId, 'setWebhooks', { webhooks: hooks });
  }

  async setNotifyCmdLine(jobId: string, program: string | null, parameters: string | null): Promise<void> {
    await this.#set(jobId, 'setNotifyCmdLine', { notifyCmdLine: { program, parameters } });
  }
  async setMinimumRetryDelay(jobId: string, seconds: number): Promise<void> {
    await this.#set(jobId, 'setMinimumRetryDelay', { minimumRetryDelay: seconds });
  }
  async setNoProgressTimeout(jobId: string, seconds: number): Promise<void> {
    await this.#set(jobId, 'setNoProgressTimeout', { noProgressTimeout: seconds });
  }
  async setMaximumDownloadTime(jobId: string, seconds: number): Promise<void> {
    await this.#set(jobId, 'setMaximumDownloadTime', { maximumDownloadTime: seconds });
  }
  async setProxySettings(jobId: string, proxy: ProxySettings): Promise<void> {
    await this.#set(jobId, 'setProxySettings', { proxy });
  }
  async setCustomHeaders(jobId: string, headers: readonly string[] | null): Promise<void> {
    await this.#set(jobId, 'setCustomHeaders', { customHeaders: headers });
  }
  async makeCustomHeadersWriteOnly(jobId: string): Promise<void> {
    await this.#set(jobId, 'makeCustomHeadersWriteOnly', { customHeadersWriteOnly: true });
  }
  async setCredentials(jobId: string, credentials: Credentials): Promise<void> {
    const same = (c: Credentials): boolean => c.target === credentials?.target && c.scheme === credentials?.scheme;
    await this.#set(jobId, 'setCredentials', (job) => ({
      credentials: [...job.credentials.filter((c) => !same(c)), credentials],
    }));
  }
  async removeCredentials(jobId: string, target: AuthTarget, scheme: AuthScheme): Promise<ResultCode> {
    return this.#set(jobId, 'removeCredentials', (job) => {
      const kept = job.credentials.filter((c) => !(c.target === target && c.scheme === scheme));
      return kept.length === job.credentials.length ? null : { credentials: kept };
    });
  }
  async setSecurityFlags(jobId: string, securityFlags: number): Promise<void> {
    await this.#set(jobId, 'setSecurityFlags', { securityFlags });
  }
  async setDynamicContent(jobId: string, enable: boolean): Promise<void> {
    await this.#set(jobId, 'setDynamicContent', { dynamicContent: enable === true });
  }
  async setHighPerformance(jobId: string, enable: boolean): Promise<void> {
    await this.#set(jobId, 'setHighPerformance', { highPerformance: enable === true });
  }
  async setMaxDownloadSize(jobId: string, maxDownloadSize: number | null): Promise<void> {
    await this.#set(jobId, 'setMaxDownloadSize', { maxDownloadSize });
  }
  async setMaxBandwidth(jobId: string, maxBandwidth: number): Promise<void> {
    await this.#set(jobId, 'setMaxBandwidth', { maxBandwidth });
  }
  async setFileMode(jobId: string, mode: number | null): Promise<void> {
    await this.#set(jobId, 'setFileMode', { fileMode: mode });
  }
  async setMaxConnections(jobId: string, connections: number): Promise<void> {
    await this.#set(jobId, 'setMaxConnections', { maxConnections: connections });
  }
  async setCostFlags(jobId: string, flags: number | null): Promise<void> {
    await this.#set(jobId, 'setCostFlags', { costFlags: flags });
  }
  async setReplyFileName(jobId: string, path: string | null): Promise<void> {
    await this.#set(jobId, 'setReplyFileName', { replyFileName: path === '' ? null : path });
  }
  async takeOwnership(jobId: string): Promise<void> {
    const { owner, isAdmin } = this.#p.access.caller;
    if (!isAdmin) throw new BitsError('E_ACCESSDENIED', 'TakeOwnership needs an administrator');
    await this.#set(jobId, 'takeOwnership', {
      owner,
      credentials: [],
      customHeaders: null,
      notifyCmdLine: null,
      webhooks: null,
    });
  }

  // ── policy ───────────────────────────────────────────────────────────────────────────────

  async getPolicy(): Promise<PolicyDocument> {
    return this.#withCost(this.#p.policy.document());
  }

  /** The policy document with the network's cost now and where it comes from. */
  #withCost(doc: PolicyDocument): PolicyDocument {
    const { state, source, detail } = this.#p.cost.current();
    return { ...doc, cost: { ...(doc.cost as object), current: { state: costStateName(state), source, detail } } };
  }

  /** The policy in force, as the scheduler uses it. */
  policy(): Policy {
    return this.#p.policy.policy;
  }

  async reloadPolicy(): Promise<PolicyDocument> {
    this.#p.access.checkConfigure('reloading the policy');
    return this.#withCost(this.#p.policy.reload());
  }

  async setPolicy(key: string, value: unknown): Promise<PolicyDocument> {
    this.#p.access.checkConfigure('changing the policy');
    return this.#withCost(this.#p.policy.set(key, value));
  }

  // ── events and lifetime ──────────────────────────────────────────────────────────────────

  subscribe(listener: (event: ManagerEvent) => void, filter?: { jobId?: string }): () => void {
    return this.#p.hub.subscribe(listener, { ...filter, sees: (id) => this.#p.access.sees(id) });
  }

  /** Every event as delivered, unfiltered by NotifyFlags (bitsd's job log); not a subscriber. */
  observe(listener: (event: ManagerEvent) => void): () => void {
    return this.#p.hub.tap((event) => listener(event));
  }

  events(options?: { jobId?: string; signal?: AbortSignal }): AsyncIterable<ManagerEvent> {
    return this.#p.hub.iterate({ ...options, sees: (id) => this.#p.access.sees(id) });
  }

  /** Stop every transfer at a checkpoint, save timers, close the store. */
  async close(): Promise<void> {
    if (this.#closed || this.#isView) return;
    this.#closed = true;
    this.#purgeTimer?.cancel();
    this.#p.listed.close();
    const { locks, scheduler, runs, store, notify, uploads, bandwidth, network, cost, hub } = this.#p;
    locks.close();
    scheduler.stop();
    await runs.stopAll();
    await this.#p.webhooks.close();
    await this.#p.io.close();
    this.#p.transitions.saveTimers(store.listJobs());
    notify.stop();
    uploads.stop();
    bandwidth.stop();
    cost.close();
    network.close();
    this.#p.presence.close();
    hub.close();
    this.#p.metrics?.close();
    store.close();
  }

  /** The state of a job, for tests and the daemon (no ownership check). */
  peekState(jobId: string): JobState | undefined {
    return this.#p.store.getJob(this.#p.access.id(jobId))?.state;
  }

  /**
   * What a read shows leaves the process only once it is durable: the store's group commit may
   * still be syncing the commit that wrote it (a state a caller saw must survive a power loss).
   * And only once the change has been applied: a caller that saw TRANSIENT_ERROR finds its retry
   * timer armed and its events sent.
   */
  async #shown<T>(value: T): Promise<T> {
    // The changes this read may see, taken now: a later one need not hold it up.
    const applied = this.#p.transitions.applied();
    await this.#p.store.durable();
    await applied;
    return value;
  }

  /** A job as the store has it, with the live byte counts of a running transfer. */
  #view(job: Job): Job {
    return withLiveProgress(job, this.#p.runs.live(job.id));
  }

  /** A job as callers see it (an upload-reply's reply progress included). */
  #info(job: Job, withFiles = true): JobInfo {
    const { uploads, bandwidth } = this.#p;
    return toJobInfo(this.#view(job), uploads.replyProgress(job), withFiles, bandwidth.yieldStatus(job.id));
  }
}
