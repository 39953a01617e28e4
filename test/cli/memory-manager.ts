/**
 * A small in-memory BitsManager for the CLI's parsing and rendering tests while the real
 * createManager() is not on main yet. It validates with core's validators and legality table
 * and keeps state in memory; it moves no bytes (jobs only change state when a test says so).
 */
import { randomUUID } from 'node:crypto';
import type { BitsManager, FileInfo, JobErrorInfo, JobInfo, ManagerEvent, ResultCode } from '../../src/api/contract.ts';
import {
  assertMethodAllowed,
  BitsError,
  type BitsErrorData,
  ERROR_CONTEXT_DESCRIPTIONS,
  isFinalState,
  JOB_DEFAULTS,
  type JobMethod,
  type JobState,
  type JobType,
  normalizeJobId,
  SIZE_UNKNOWN,
  validateCredentials,
  validateCustomHeaders,
  validateDescription,
  validateDisplayName,
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
type Rec = Mutable<JobInfo> & { headers: string[] | null; writeOnly: boolean; everResumed: boolean };

export class MemoryManager implements BitsManager {
  readonly #jobs = new Map<string, Rec>();
  readonly #listeners = new Set<(e: ManagerEvent) => void>();
  #now = Date.UTC(2026, 10, 21, 12, 0, 0);

  #tick(): number {
    this.#now += 1000;
    return this.#now;
  }

  #emit(e: ManagerEvent): void {
    for (const l of this.#listeners) l(e);
  }

  #rec(jobId: string): Rec {
    const id = normalizeJobId(jobId);
    const r = id === null ? undefined : this.#jobs.get(id);
    if (r === undefined || isFinalState(r.state)) throw new BitsError('BG_E_NOT_FOUND');
    return r;
  }

  #check(method: JobMethod, r: Rec): void {
    assertMethodAllowed(method, {
      state: r.state,
      type: r.type,
      fileCount: r.files.length,
      everResumed: r.everResumed,
      replyStarted: false,
    });
  }

  #touch(r: Rec): void {
    r.times = { ...r.times, modificationTime: this.#tick() };
    this.#emit({ type: 'job:modified', jobId: r.id });
  }

  /** Test hook: put a job in a state, with an error for ERROR / TRANSIENT_ERROR. */
  force(jobId: string, state: JobState, error: BitsErrorData | null = null): void {
    const r = this.#rec(jobId);
    const previous = r.state;
    r.state = state;
    r.error =
      error === null
        ? null
        : { ...error, contextDescription: ERROR_CONTEXT_DESCRIPTIONS[error.context], file: null, protocol: null };
    if (state === 'TRANSFERRED') r.times = { ...r.times, transferCompletionTime: this.#tick() };
    this.#emit({ type: 'job:state', jobId: r.id, state, previous });
  }

  async createJob(displayName: string, type: JobType = 'DOWNLOAD'): Promise<JobInfo> {
    const t = this.#tick();
    const r: Rec = {
      id: randomUUID(),
      type,
      displayName: validateDisplayName(displayName),
      description: '',
      owner: String(process.getuid?.() ?? 0),
      state: 'SUSPENDED',
      ...JOB_DEFAULTS,
      notifyCmdLine: null,
      customHeadersWriteOnly: false,
      credentials: [],
      dynamicContent: false,
      highPerformance: false,
      maxDownloadSize: null,
      maxBandwidth: 0,
      replyFileName: null,
      errorCount: 0,
      error: null,
      times: { creationTime: t, modificationTime: t, transferCompletionTime: null },
      hasCustomHeaders: false,
      progress: { bytesTotal: 0, bytesTransferred: 0, filesTotal: 0, filesTransferred: 0 },
      replyProgress: type === 'UPLOAD_REPLY' ? { bytesTotal: SIZE_UNKNOWN, bytesTransferred: 0 } : null,
      files: [],
      headers: null,
      writeOnly: false,
      everResumed: false,
    };
    this.#jobs.set(r.id, r);
    this.#emit({ type: 'job:created', jobId: r.id });
    return this.getJob(r.id);
  }

  async getJob(jobId: string): Promise<JobInfo> {
    const { headers: _h, writeOnly: _w, everResumed: _e, ...info } = this.#rec(jobId);
    return structuredClone({ ...info, files: info.files.map((f) => ({ ...f })) });
  }

  async enumJobs(): Promise<JobInfo[]> {
    const live = [...this.#jobs.values()].filter((r) => !isFinalState(r.state));
    return Promise.all(live.map((r) => this.getJob(r.id)));
  }

  async findJob(nameOrId: string): Promise<JobInfo> {
    if (normalizeJobId(nameOrId) !== null) return this.getJob(nameOrId);
    const matches = (await this.enumJobs()).filter((j) => j.displayName === nameOrId);
    if (matches.length === 0) throw new BitsError('BG_E_NOT_FOUND', `no job is named ${JSON.stringify(nameOrId)}`);
    if (matches.length > 1) {
      const ids = matches.map((j) => `{${j.id}}`).join(' ');
      throw new BitsError('E_INVALIDARG', `${matches.length} jobs are named ${nameOrId}; use a GUID: ${ids}`);
    }
    return matches[0] as JobInfo;
  }

  async addFile(jobId: string, remoteName: string, localName: string): Promise<void> {
    await this.addFileSet(jobId, [{ remoteName, localName }]);
  }

  async addFileSet(jobId: string, files: ReadonlyArray<{ remoteName: string; localName: string }>): Promise<void> {
    const r = this.#rec(jobId);
    this.#check('addFile', r);
    if (r.type !== 'DOWNLOAD' && r.files.length + files.length > 1) throw new BitsError('BG_E_TOO_MANY_FILES');
    const added = files.map((f) => ({
      remote: validateRemoteUrl(f.remoteName),
      local: validateLocalPath(f.localName),
    }));
    for (const f of added) this.#pushFile(r, f.remote, f.local, null);
    this.#touch(r);
  }

  #pushFile(r: Rec, remoteName: string, localName: string, ranges: FileInfo['ranges']): void {
    r.files.push({
      index: r.files.length,
      remoteName,
      localName,
      ranges,
      progress: { bytesTotal: SIZE_UNKNOWN, bytesTransferred: 0, completed: false },
      temporaryName: null,
    });
    r.progress = { ...r.progress, bytesTotal: SIZE_UNKNOWN, filesTotal: r.files.length };
  }

  async addFileWithRanges(
    jobId: string,
    remoteName: string,
    localName: string,
    ranges: readonly { offset: number; length: number }[],
  ): Promise<void> {
    const r = this.#rec(jobId);
    this.#check('addFileWithRanges', r);
    const valid = validateRanges(ranges);
    this.#pushFile(r, validateRemoteUrl(remoteName), validateLocalPath(localName), valid);
    this.#touch(r);
  }

  async enumFiles(jobId: string): Promise<FileInfo[]> {
    return (await this.getJob(jobId)).files;
  }

  async resume(jobId: string): Promise<void> {
    const r = this.#rec(jobId);
    this.#check('resume', r);
    if (r.files.length === 0) throw new BitsError('BG_E_EMPTY');
    r.everResumed = true;
    if (['SUSPENDED', 'ERROR', 'TRANSIENT_ERROR', 'TRANSFERRED'].includes(r.state)) this.force(r.id, 'QUEUED');
  }

  async suspend(jobId: string): Promise<void> {
    const r = this.#rec(jobId);
    this.#check('suspend', r);
    if (r.state !== 'SUSPENDED') this.force(r.id, 'SUSPENDED');
  }

  async cancel(jobId: string): Promise<ResultCode> {
    const r = this.#rec(jobId);
    this.#check('cancel', r);
    this.force(r.id, 'CANCELLED');
    return 'S_OK';
  }

  async complete(jobId: string): Promise<ResultCode> {
    const r = this.#rec(jobId);
    this.#check('complete', r);
    this.force(r.id, 'ACKNOWLEDGED');
    return 'S_OK';
  }

  async getProgress(jobId: string) {
    return (await this.getJob(jobId)).progress;
  }

  async getTimes(jobId: string) {
    return (await this.getJob(jobId)).times;
  }

  async getError(jobId: string): Promise<JobErrorInfo> {
    const r = this.#rec(jobId);
    this.#check('getError', r);
    if (r.error === null) throw new BitsError('BG_E_ERROR_INFORMATION_UNAVAILABLE');
    return r.error;
  }

  #set(method: JobMethod, jobId: string, apply: (r: Rec) => void): Promise<void> {
    const r = this.#rec(jobId);
    this.#check(method, r);
    apply(r);
    this.#touch(r);
    return Promise.resolve();
  }

  setDisplayName = (id: string, v: string) =>
    this.#set('setDisplayName', id, (r) => (r.displayName = validateDisplayName(v)));
  setDescription = (id: string, v: string) =>
    this.#set('setDescription', id, (r) => (r.description = validateDescription(v)));
  setPriority = (id: string, v: string) => this.#set('setPriority', id, (r) => (r.priority = validatePriority(v)));
  setNotifyFlags = (id: string, v: number) =>
    this.#set('setNotifyFlags', id, (r) => (r.notifyFlags = validateNotifyFlags(v)));
  setNotifyCmdLine = (id: string, p: string | null, a: string | null) =>
    this.#set('setNotifyCmdLine', id, (r) => (r.notifyCmdLine = validateNotifyCmdLine(p, a)));
  setMinimumRetryDelay = (id: string, v: number) =>
    this.#set('setMinimumRetryDelay', id, (r) => (r.minimumRetryDelay = validateMinimumRetryDelay(v)));
  setNoProgressTimeout = (id: string, v: number) =>
    this.#set('setNoProgressTimeout', id, (r) => (r.noProgressTimeout = validateSeconds(v, 'timeout')));
  setMaximumDownloadTime = (id: string, v: number) =>
    this.#set('setMaximumDownloadTime', id, (r) => (r.maximumDownloadTime = validateSeconds(v, 'time')));
  setProxySettings = (id: string, v: unknown) =>
    this.#set('setProxySettings', id, (r) => (r.proxy = validateProxySettings(v)));
  setCustomHeaders = (id: string, h: readonly string[] | null) =>
    this.#set('setCustomHeaders', id, (r) => {
      if (h?.some((x) => /[\r\n]/u.test(x))) throw new BitsError('E_INVALIDARG', 'a header contains CR or LF');
      validateCustomHeaders(h === null ? null : `${h.join('\r\n')}\r\n`);
      r.headers = h === null ? null : [...h];
      r.hasCustomHeaders = h !== null;
    });
  async getCustomHeaders(id: string): Promise<string[] | null> {
    const r = this.#rec(id);
    if (r.writeOnly) throw new BitsError('E_ACCESSDENIED', 'the custom headers are write-only');
    return r.headers;
  }
  makeCustomHeadersWriteOnly = (id: string) =>
    this.#set('makeCustomHeadersWriteOnly', id, (r) => {
      r.writeOnly = true;
      r.customHeadersWriteOnly = true;
    });
  setCredentials = (id: string, c: unknown) =>
    this.#set('setCredentials', id, (r) => {
      const v = validateCredentials(c);
      r.credentials = [
        ...r.credentials.filter((x) => x.target !== v.target || x.scheme !== v.scheme),
        { target: v.target, scheme: v.scheme, userName: v.userName },
      ];
    });
  async removeCredentials(id: string, target: string, scheme: string): Promise<ResultCode> {
    let found = false;
    await this.#set('removeCredentials', id, (r) => {
      found = r.credentials.some((x) => x.target === target && x.scheme === scheme);
      r.credentials = r.credentials.filter((x) => x.target !== target || x.scheme !== scheme);
    });
    return found ? 'S_OK' : 'S_FALSE';
  }
  setSecurityFlags = (id: string, v: number) =>
    this.#set('setSecurityFlags', id, (r) => (r.securityFlags = validateSecurityFlags(v)));
  async replaceRemotePrefix(id: string, oldPrefix: string, newPrefix: string): Promise<ResultCode> {
    let n = 0;
    await this.#set('replaceRemotePrefix', id, (r) => {
      r.files = r.files.map((f) => {
        if (!f.remoteName.startsWith(oldPrefix)) return f;
        n++;
        return { ...f, remoteName: validateRemoteUrl(newPrefix + f.remoteName.slice(oldPrefix.length)) };
      });
    });
    return n === 0 ? 'S_FALSE' : 'S_OK';
  }
  setRemoteName = (id: string, i: number, url: string) =>
    this.#set('setRemoteName', id, (r) => {
      const f = r.files[i];
      if (f === undefined) throw new BitsError('E_INVALIDARG');
      r.files[i] = { ...f, remoteName: validateRemoteUrl(url) };
    });
  setDynamicContent = (id: string, v: boolean) => this.#set('setDynamicContent', id, (r) => (r.dynamicContent = v));
  setHighPerformance = (id: string, v: boolean) => this.#set('setHighPerformance', id, (r) => (r.highPerformance = v));
  setMaxDownloadSize = (id: string, v: number | null) =>
    this.#set('setMaxDownloadSize', id, (r) => (r.maxDownloadSize = v));
  setMaxBandwidth = (id: string, v: number) => this.#set('setMaxBandwidth', id, (r) => (r.maxBandwidth = v));
  setReplyFileName = (id: string, p: string | null) =>
    this.#set('setReplyFileName', id, (r) => (r.replyFileName = p === null ? null : validateLocalPath(p)));
  async getReplyFileName(id: string): Promise<string | null> {
    const r = this.#rec(id);
    this.#check('getReplyFileName', r);
    return r.replyFileName;
  }
  async getReplyProgress(id: string) {
    const r = this.#rec(id);
    this.#check('getReplyProgress', r);
    return r.replyProgress ?? { bytesTotal: SIZE_UNKNOWN, bytesTransferred: 0 };
  }
  async getReplyData(id: string): Promise<Buffer | null> {
    const r = this.#rec(id);
    this.#check('getReplyData', r);
    return null;
  }
  takeOwnership = (id: string) => this.#set('takeOwnership', id, () => undefined);

  async getErrorDescription(hresult: number): Promise<string> {
    return `HRESULT ${hresult}`;
  }

  subscribe(listener: (event: ManagerEvent) => void, filter?: { jobId?: string }): () => void {
    const l = (e: ManagerEvent): void => {
      if (filter?.jobId === undefined || filter.jobId === e.jobId) listener(e);
    };
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  async *events(options: { jobId?: string; signal?: AbortSignal } = {}): AsyncIterable<ManagerEvent> {
    const queue: ManagerEvent[] = [];
    let wake: (() => void) | null = null;
    const off = this.subscribe(
      (e) => {
        queue.push(e);
        wake?.();
      },
      options.jobId === undefined ? {} : { jobId: options.jobId },
    );
    const onAbort = (): void => wake?.();
    options.signal?.addEventListener('abort', onAbort);
    try {
      while (options.signal?.aborted !== true) {
        const e = queue.shift();
        if (e !== undefined) yield e;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      off();
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
