import { randomUUID } from 'node:crypto';
import type {
  BitsManager,
  FileInfo,
  JobErrorInfo,
  JobInfo,
  ManagerEvent,
  ResultCode,
  Unsubscribe,
} from '../../src/api/contract.ts';
import {
  assertMethodAllowed,
  BitsError,
  type Credentials,
  ERROR_CONTEXT_DESCRIPTIONS,
  errorInfo,
  errorNameForHresult,
  type FileRange,
  isFinalState,
  JOB_DEFAULTS,
  type JobEvent,
  type JobMethod,
  type JobState,
  type JobType,
  normalizeJobId,
  SIZE_UNKNOWN,
  transition,
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
} from '../../src/core/index.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type FakeJob = Mutable<Omit<JobInfo, 'files'>> & {
  files: FileInfo[];
  customHeaders: string[] | null;
  everResumed: boolean;
  reply: Buffer | null;
};

/**
 * An in-memory BitsManager for testing the API's shape only (routes, envelopes, events): it
 * keeps state with core's tables and validators but transfers nothing. `emit` injects events.
 * The end-to-end tests run the real manager inside the real bitsd.
 */
export class FakeManager implements BitsManager {
  readonly #jobs = new Map<string, FakeJob>();
  readonly #listeners = new Set<{ fn: (e: ManagerEvent) => void; jobId: string | undefined }>();
  closed = false;

  emit(event: ManagerEvent): void {
    for (const l of [...this.#listeners]) if (l.jobId === undefined || l.jobId === event.jobId) l.fn(event);
  }

  /** Put a job into any state (tests of what the API reports for it). */
  force(jobId: string, state: JobState, error: JobErrorInfo | null = null): void {
    const job = this.#job(jobId);
    job.state = state;
    job.error = error;
  }

  setReplyData(jobId: string, data: Buffer | null): void {
    this.#job(jobId).reply = data;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** A known job; a final one only for methods (they then fail the legality check). */
  #job(jobId: string, finalToo = false): FakeJob {
    const id = normalizeJobId(jobId);
    const job = id === null ? undefined : this.#jobs.get(id);
    if (job === undefined || (isFinalState(job.state) && !finalToo)) {
      throw new BitsError('BG_E_NOT_FOUND', `no job ${jobId}`);
    }
    return job;
  }

  #allowed(method: JobMethod, job: FakeJob): void {
    const facts = { ...job, fileCount: job.files.length, replyStarted: false };
    assertMethodAllowed(method, facts);
  }

  #move(job: FakeJob, event: JobEvent): void {
    const t = transition(job.state, event, job.type);
    if (!t.ok) throw new BitsError('BG_E_INVALID_STATE', `${event} is not allowed in state ${job.state}`);
    const previous = job.state;
    job.state = t.to;
    if (previous !== t.to) this.emit({ type: 'job:state', jobId: job.id, state: t.to, previous });
  }

  async #set(jobId: string, method: JobMethod, apply: (job: FakeJob) => void): Promise<void> {
    const job = this.#job(jobId);
    this.#allowed(method, job);
    apply(job);
    job.times = { ...job.times, modificationTime: Date.now() };
    this.emit({ type: 'job:modified', jobId: job.id });
  }

  #info(job: FakeJob): JobInfo {
    const { customHeaders: _h, everResumed: _e, reply: _r, ...info } = job;
    return structuredClone({ ...info, hasCustomHeaders: job.customHeaders !== null });
  }

  async createJob(displayName: string, type: JobType = 'DOWNLOAD'): Promise<JobInfo> {
    const name = validateDisplayName(displayName);
    const t = validateJobType(type);
    const now = Date.now();
    const job: FakeJob = {
      id: randomUUID(),
      type: t,
      displayName: name,
      description: '',
      owner: String(process.getuid?.() ?? 0),
      state: 'SUSPENDED',
      ...JOB_DEFAULTS,
      proxy: { ...JOB_DEFAULTS.proxy },
      notifyCmdLine: null,
      customHeadersWriteOnly: false,
      credentials: [],
      hasCustomHeaders: false,
      dynamicContent: false,
      highPerformance: false,
      maxDownloadSize: null,
      maxBandwidth: 0,
      fileMode: null,
      replyFileName: null,
      errorCount: 0,
      progress: { bytesTotal: 0, bytesTransferred: 0, filesTotal: 0, filesTransferred: 0 },
      times: { creationTime: now, modificationTime: now, transferCompletionTime: null },
      replyProgress: t === 'UPLOAD_REPLY' ? { bytesTotal: SIZE_UNKNOWN, bytesTransferred: 0 } : null,
      error: null,
      files: [],
      customHeaders: null,
      everResumed: false,
      reply: null,
    };
    this.#jobs.set(job.id, job);
    this.emit({ type: 'job:created', jobId: job.id });
    return this.#info(job);
  }
  async getJob(jobId: string): Promise<JobInfo> {
    return this.#info(this.#job(jobId));
  }
  async enumJobs(options?: { allUsers?: boolean }): Promise<JobInfo[]> {
    if (options?.allUsers === true && process.getuid?.() !== 0) throw new BitsError('E_ACCESSDENIED');
    return [...this.#jobs.values()].filter((j) => !isFinalState(j.state)).map((j) => this.#info(j));
  }
  async findJob(nameOrId: string): Promise<JobInfo> {
    if (normalizeJobId(nameOrId) !== null) return this.getJob(nameOrId);
    const named = [...this.#jobs.values()].filter((j) => !isFinalState(j.state) && j.displayName === nameOrId);
    if (named.length > 1) throw new BitsError('E_INVALIDARG', `${named.length} jobs are named ${nameOrId}`);
    const job = named[0];
    if (job === undefined) throw new BitsError('BG_E_NOT_FOUND', `no job named ${nameOrId}`);
    return this.#info(job);
  }
  async addFile(jobId: string, remoteName: string, localName: string): Promise<void> {
    await this.addFileSet(jobId, [{ remoteName, localName }]);
  }
  async addFileSet(jobId: string, files: ReadonlyArray<{ remoteName: string; localName: string }>): Promise<void> {
    this.#addFiles(jobId, files, null);
  }
  async addFileWithRanges(jobId: string, remote: string, local: string, ranges: readonly FileRange[]): Promise<void> {
    this.#addFiles(jobId, [{ remoteName: remote, localName: local }], validateRanges(ranges));
  }
  #addFiles(
    jobId: string,
    files: ReadonlyArray<{ remoteName: string; localName: string }>,
    ranges: FileRange[] | null,
  ) {
    const job = this.#job(jobId);
    this.#allowed('addFile', job);
    if (files.length === 0) throw new BitsError('E_INVALIDARG', 'no files given');
    // All or nothing: validate every file before adding any.
    const checked = files.map((f) => ({
      remote: validateRemoteUrl(f.remoteName),
      local: validateLocalPath(f.localName),
    }));
    for (const f of checked) {
      job.files.push({
        index: job.files.length,
        remoteName: f.remote,
        localName: f.local,
        ranges,
        progress: { bytesTotal: SIZE_UNKNOWN, bytesTransferred: 0, completed: false },
        temporaryName: null,
      });
    }
    job.progress = { ...job.progress, filesTotal: job.files.length, bytesTotal: SIZE_UNKNOWN };
    this.emit({ type: 'job:modified', jobId: job.id });
  }
  async enumFiles(jobId: string): Promise<FileInfo[]> {
    return structuredClone(this.#job(jobId).files);
  }
  async resume(jobId: string): Promise<void> {
    const job = this.#job(jobId, true);
    this.#allowed('resume', job);
    this.#move(job, 'resume');
    job.everResumed = true;
  }
  async suspend(jobId: string): Promise<void> {
    const job = this.#job(jobId, true);
    this.#allowed('suspend', job);
    this.#move(job, 'suspend');
  }
  async cancel(jobId: string): Promise<ResultCode> {
    const job = this.#job(jobId, true);
    this.#allowed('cancel', job);
    this.#move(job, 'cancel');
    return 'S_OK';
  }
  async complete(jobId: string): Promise<ResultCode> {
    const job = this.#job(jobId, true);
    this.#allowed('complete', job);
    if (job.type !== 'DOWNLOAD' && job.state !== 'TRANSFERRED') {
      throw new BitsError('BG_E_INVALID_STATE', 'upload jobs complete only when TRANSFERRED');
    }
    this.#move(job, 'complete');
    return job.files.every((f) => f.progress.completed) ? 'S_OK' : 'BG_S_PARTIAL_COMPLETE';
  }
  async getProgress(jobId: string) {
    return this.#job(jobId).progress;
  }
  async getTimes(jobId: string) {
    return this.#job(jobId).times;
  }
  async getError(jobId: string): Promise<JobErrorInfo> {
    const job = this.#job(jobId);
    this.#allowed('getError', job);
    if (job.error === null) throw new BitsError('BG_E_ERROR_INFORMATION_UNAVAILABLE');
    return job.error;
  }
  setDisplayName = (id: string, name: string) =>
    this.#set(id, 'setDisplayName', (j) => {
      j.displayName = validateDisplayName(name);
    });
  setDescription = (id: string, d: string) =>
    this.#set(id, 'setDescription', (j) => {
      j.description = validateDescription(d);
    });
  setPriority = (id: string, p: JobInfo['priority']) =>
    this.#set(id, 'setPriority', (j) => {
      j.priority = validatePriority(p);
    });
  setNotifyFlags = (id: string, f: number) =>
    this.#set(id, 'setNotifyFlags', (j) => {
      j.notifyFlags = validateNotifyFlags(f);
    });
  setNotifyCmdLine = (id: string, program: string | null, parameters: string | null) =>
    this.#set(id, 'setNotifyCmdLine', (j) => {
      j.notifyCmdLine = validateNotifyCmdLine(program, parameters);
    });
  setMinimumRetryDelay = (id: string, s: number) =>
    this.#set(id, 'setMinimumRetryDelay', (j) => {
      j.minimumRetryDelay = validateMinimumRetryDelay(s);
    });
  setNoProgressTimeout = (id: string, s: number) =>
    this.#set(id, 'setNoProgressTimeout', (j) => {
      j.noProgressTimeout = validateSeconds(s, 'no-progress timeout');
    });
  setMaximumDownloadTime = (id: string, s: number) =>
    this.#set(id, 'setMaximumDownloadTime', (j) => {
      j.maximumDownloadTime = validateSeconds(s, 'maximum download time');
    });
  setProxySettings = (id: string, p: JobInfo['proxy']) =>
    this.#set(id, 'setProxySettings', (j) => {
      j.proxy = validateProxySettings(p);
    });
  setCustomHeaders = (id: string, headers: readonly string[] | null) =>
    this.#set(id, 'setCustomHeaders', (j) => {
      const text = validateCustomHeaders(headers);
      j.customHeaders = text === null ? null : text.split('\r\n').filter((l) => l !== '');
      j.hasCustomHeaders = text !== null;
    });
  async getCustomHeaders(id: string): Promise<string[] | null> {
    const job = this.#job(id);
    if (job.customHeadersWriteOnly) throw new BitsError('E_ACCESSDENIED', 'custom headers are write-only');
    return job.customHeaders;
  }
  makeCustomHeadersWriteOnly = (id: string) =>
    this.#set(id, 'makeCustomHeadersWriteOnly', (j) => {
      j.customHeadersWriteOnly = true;
    });
  setCredentials = (id: string, c: Credentials) =>
    this.#set(id, 'setCredentials', (j) => {
      const v = validateCredentials(c);
      j.credentials = [
        ...j.credentials.filter((x) => x.target !== v.target || x.scheme !== v.scheme),
        { target: v.target, scheme: v.scheme, userName: v.userName },
      ];
    });
  async removeCredentials(id: string, target: Credentials['target'], scheme: Credentials['scheme']) {
    validateCredentials({ target, scheme, userName: 'x', password: 'x' });
    const job = this.#job(id);
    const before = job.credentials.length;
    job.credentials = job.credentials.filter((x) => x.target !== target || x.scheme !== scheme);
    return (before === job.credentials.length ? 'S_FALSE' : 'S_OK') as ResultCode;
  }
  setSecurityFlags = (id: string, f: number) =>
    this.#set(id, 'setSecurityFlags', (j) => {
      j.securityFlags = validateSecurityFlags(f);
    });
  async replaceRemotePrefix(id: string, oldPrefix: string, newPrefix: string): Promise<ResultCode> {
    let hit = false;
    await this.#set(id, 'replaceRemotePrefix', (j) => {
      j.files = j.files.map((f) => {
        if (!f.remoteName.startsWith(oldPrefix)) return f;
        hit = true;
        return { ...f, remoteName: validateRemoteUrl(newPrefix + f.remoteName.slice(oldPrefix.length)) };
      });
    });
    return hit ? 'S_OK' : 'S_FALSE';
  }
  setRemoteName = (id: string, index: number, remote: string) =>
    this.#set(id, 'setRemoteName', (j) => {
      const file = j.files[index];
      if (file === undefined) throw new BitsError('E_INVALIDARG', `the job has no file ${index}`);
      j.files[index] = { ...file, remoteName: validateRemoteUrl(remote) };
    });
  setDynamicContent = (id: string, v: boolean) =>
    this.#set(id, 'setDynamicContent', (j) => {
      j.dynamicContent = v;
    });
  setHighPerformance = (id: string, v: boolean) =>
    this.#set(id, 'setHighPerformance', (j) => {
      j.highPerformance = v;
    });
  setMaxDownloadSize = (id: string, v: number | null) =>
    this.#set(id, 'setMaxDownloadSize', (j) => {
      j.maxDownloadSize = v;
    });
  setMaxBandwidth = (id: string, v: number) =>
    this.#set(id, 'setMaxBandwidth', (j) => {
      j.maxBandwidth = v;
    });
  setFileMode = (id: string, v: number | null) =>
    this.#set(id, 'setFileMode', (j) => {
      j.fileMode = validateFileMode(v);
    });
  setReplyFileName = (id: string, v: string | null) =>
    this.#set(id, 'setReplyFileName', (j) => {
      j.replyFileName = v === null ? null : validateLocalPath(v);
    });
  async getReplyFileName(id: string) {
    const job = this.#job(id);
    this.#allowed('getReplyFileName', job);
    return job.replyFileName;
  }
  async getReplyProgress(id: string) {
    const job = this.#job(id);
    this.#allowed('getReplyProgress', job);
    return job.replyProgress ?? { bytesTotal: SIZE_UNKNOWN, bytesTransferred: 0 };
  }
  async getReplyData(id: string) {
    const job = this.#job(id);
    this.#allowed('getReplyData', job);
    return job.reply;
  }
  takeOwnership = (id: string) => this.#set(id, 'takeOwnership', () => {});
  async getErrorDescription(hresult: number): Promise<string> {
    const name = errorNameForHresult(hresult);
    const info = name === undefined ? undefined : errorInfo(name);
    if (info === undefined) throw new BitsError('E_INVALIDARG', `unknown HRESULT ${hresult}`);
    return info.message;
  }
  #policy: Record<string, unknown> = { maxBackgroundJobs: 1 };
  async getPolicy(): Promise<Record<string, unknown>> {
    return { ...this.#policy };
  }
  async setPolicy(key: string, value: unknown): Promise<Record<string, unknown>> {
    this.#policy = { ...this.#policy, [key]: value };
    return { ...this.#policy };
  }
  async reloadPolicy(): Promise<Record<string, unknown>> {
    return { ...this.#policy };
  }
  subscribe(listener: (event: ManagerEvent) => void, filter?: { jobId?: string }): Unsubscribe {
    const entry = { fn: listener, jobId: filter?.jobId };
    this.#listeners.add(entry);
    this.#listenersChanged();
    return () => {
      this.#listeners.delete(entry);
      this.#listenersChanged();
    };
  }

  readonly #countWaiters = new Set<{ count: number; resolve: () => void }>();
  #listenersChanged(): void {
    for (const w of [...this.#countWaiters]) {
      if (w.count !== this.#listeners.size) continue;
      this.#countWaiters.delete(w);
      w.resolve();
    }
  }

  /** Resolves when exactly `count` listeners are subscribed. */
  listenerCountIs(count: number): Promise<void> {
    if (this.#listeners.size === count) return Promise.resolve();
    return new Promise((resolve) => this.#countWaiters.add({ count, resolve }));
  }
  async *events(options: { jobId?: string; signal?: AbortSignal } = {}): AsyncIterable<ManagerEvent> {
    const queue: ManagerEvent[] = [];
    let wake: (() => void) | undefined;
    const off = this.subscribe((e) => {
      queue.push(e);
      wake?.();
    }, options);
    options.signal?.addEventListener('abort', () => wake?.());
    try {
      while (options.signal?.aborted !== true && !this.closed) {
        const e = queue.shift();
        if (e !== undefined) yield e;
        else await new Promise<void>((r) => (wake = r));
      }
    } finally {
      off();
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** The description a fake error carries (what the real manager derives from the context). */
export function fakeError(name: 'BG_E_HTTP_ERROR_404' | 'ERROR_DISK_FULL'): JobErrorInfo {
  const info = errorInfo(name);
  if (info === undefined) throw new Error(name);
  const context = name === 'ERROR_DISK_FULL' ? 'LOCAL_FILE' : 'REMOTE_FILE';
  return {
    name,
    hresult: info.hresult,
    context,
    message: info.message,
    contextDescription: ERROR_CONTEXT_DESCRIPTIONS[context],
    file: null,
    protocol: null,
  };
}
