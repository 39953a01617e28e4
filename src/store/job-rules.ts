import {
  BitsError,
  type Credentials,
  ERROR_CONTEXTS,
  errorInfo,
  type FileSegment,
  generatedReplyFileName,
  isFinalState,
  JOB_DEFAULTS,
  JOB_METHODS,
  type Job,
  type JobFacts,
  type JobFile,
  type JobMethod,
  methodRefusal,
  normalizeJobId,
  type Quotas,
  replyStartedIn,
  SIZE_UNKNOWN,
  splitUrlCredentials,
  transition,
  type UrlWithoutCredentials,
  validateCredentials,
  validateDigests,
  validateDisplayName,
  validateJobType,
  validateLocalPath,
  validateMirrors,
  validatePieces,
  validateRanges,
  validateRemoteUrl,
} from '../core/index.ts';
import type { CallerContext, CreateJobInput, JobTimers, NewFile, TransitionInput, WrittenBytes } from './job-store.ts';

/**
 * The rules every JobStore applies to a job record, written once and pure: both the SQLite and
 * the memory store load a record, call one of these, and write back what it returns. Each
 * function throws a BitsError and returns nothing partial, so a store that calls it before
 * writing leaves the stored job unchanged on bad input.
 */

/** BG_E_NOT_FOUND for an id the store does not hold. */
export function jobNotFound(id: string): BitsError {
  return new BitsError('BG_E_NOT_FOUND', `job ${id} was not found`, { context: 'GENERAL_QUEUE_MANAGER' });
}

/**
 * The facts the method-legality table needs. `transferState` is what the store holds for the job
 * (saveTransferState): an upload-reply's session says whether the reply download began.
 */
export function jobFacts(job: Job, transferState?: unknown): JobFacts {
  return {
    state: job.state,
    type: job.type,
    fileCount: job.files.length,
    everResumed: job.everResumed,
    replyStarted: job.type === 'UPLOAD_REPLY' && replyStartedIn(transferState),
  };
}

/** Throw the BitsError the legality table names for `method` on this job, if any. */
export function assertJobMethod(job: Job, method: JobMethod, transferState?: unknown): void {
  const refusal = methodRefusal(method, jobFacts(job, transferState), job.id);
  if (refusal !== null) throw refusal;
}

/** `now` is an epoch-ms timestamp handed in by the caller. */
export function checkNow(now: unknown): number {
  if (!Number.isSafeInteger(now) || (now as number) < 0) {
    throw new BitsError('E_INVALIDARG', `now must be epoch milliseconds, got ${String(now)}`);
  }
  return now as number;
}

function checkOwner(owner: unknown): string {
  if (typeof owner !== 'string' || owner === '' || owner.length > 256 || owner.includes('\0')) {
    throw new BitsError('E_INVALIDARG', 'owner must be a non-empty string of at most 256 characters');
  }
  return owner;
}

/** A new job record: validated input plus BITS's defaults (bits-client.md §5.1, §18 item 1). */
export function newJob(input: CreateJobInput): Job {
  const id = normalizeJobId(input.id);
  if (id === null || id !== input.id) {
    throw new BitsError('E_INVALIDARG', `job id must be a lower-case GUID without braces, got ${String(input.id)}`);
  }
  const now = checkNow(input.now);
  return {
    id,
    type: validateJobType(input.type),
    displayName: validateDisplayName(input.displayName),
    description: '',
    owner: checkOwner(input.owner),
    state: 'SUSPENDED',
    priority: JOB_DEFAULTS.priority,
    minimumRetryDelay: JOB_DEFAULTS.minimumRetryDelay,
    noProgressTimeout: JOB_DEFAULTS.noProgressTimeout,
    maximumDownloadTime: JOB_DEFAULTS.maximumDownloadTime,
    notifyFlags: JOB_DEFAULTS.notifyFlags,
    notifyCmdLine: null,
    webhooks: [],
    proxy: { ...JOB_DEFAULTS.proxy },
    securityFlags: JOB_DEFAULTS.securityFlags,
    customHeaders: null,
    customHeadersWriteOnly: false,
    credentials: [],
    dynamicContent: false,
    highPerformance: false,
    maxDownloadSize: null,
    maxBandwidth: 0,
    fileMode: null,
    maxConnections: JOB_DEFAULTS.maxConnections,
    costFlags: null,
    replyFileName: null,
    errorCount: 0,
    error: null,
    times: { creationTime: now, modificationTime: now, transferCompletionTime: null },
    everResumed: false,
    files: [],
  };
}

/** Jobs still in the queue, machine-wide and for the creating owner. */
export interface QueueCounts {
  readonly machine: number;
  readonly owner: number;
}

/** MaxJobsPerUser / MaxJobsPerMachine (bits-client.md §9.1): admins are exempt. */
export function checkJobQuota(counts: QueueCounts, quotas: Quotas, ctx: CallerContext): void {
  if (ctx.isAdmin) return;
  if (counts.owner >= quotas.maxJobsPerUser) {
    throw new BitsError(
      'BG_E_TOO_MANY_JOBS_PER_USER',
      `${ctx.owner} already has ${counts.owner} jobs in the queue (MaxJobsPerUser ${quotas.maxJobsPerUser})`,
      { context: 'GENERAL_QUEUE_MANAGER' },
    );
  }
  if (counts.machine >= quotas.maxJobsPerMachine) {
    throw new BitsError(
      'BG_E_TOO_MANY_JOBS_PER_MACHINE',
      `the queue already holds ${counts.machine} jobs (MaxJobsPerMachine ${quotas.maxJobsPerMachine})`,
      { context: 'GENERAL_QUEUE_MANAGER' },
    );
  }
}

/** Quotas must be whole numbers ≥ 0. */
export function checkQuotas(quotas: Quotas): Quotas {
  for (const [key, value] of Object.entries(quotas)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new BitsError('E_INVALIDARG', `quota ${key} must be a whole number ≥ 0, got ${String(value)}`);
    }
  }
  return {
    maxJobsPerUser: quotas.maxJobsPerUser,
    maxJobsPerMachine: quotas.maxJobsPerMachine,
    maxFilesPerJob: quotas.maxFilesPerJob,
    maxRangesPerFile: quotas.maxRangesPerFile,
  };
}

/** What AddFileSet adds: the file records and the job's credentials after them. */
export interface AddedFiles {
  readonly files: readonly JobFile[];
  readonly credentials: readonly Credentials[];
}

/**
 * URL userinfo is a server credential, kept with the job's credentials and never in a stored or
 * shown URL: under the scheme(s) the job already has for its server, else Basic. The last URL
 * or SetCredentials call wins, as two SetCredentials calls for one target and scheme do.
 */
export function withUrlCredentials(
  credentials: readonly Credentials[],
  split: UrlWithoutCredentials,
): readonly Credentials[] {
  if (split.credentials === null) return credentials;
  const { userName, password } = split.credentials;
  const schemes = [...new Set(credentials.filter((c) => c.target === 'SERVER').map((c) => c.scheme))];
  if (schemes.length === 0) schemes.push('BASIC');
  const replaced = (c: Credentials): boolean => c.target === 'SERVER' && schemes.includes(c.scheme);
  return [
    ...credentials.filter((c) => !replaced(c)),
    ...schemes.map((scheme) => validateCredentials({ target: 'SERVER', scheme, userName, password })),
  ];
}

/** A job whose files' URL userinfo moved into its credentials (records written before that rule). */
export function withoutUrlCredentials(job: Job): Job {
  let credentials = job.credentials;
  const files = job.files.map((f) => {
    const split = splitUrlCredentials(f.remoteName);
    credentials = withUrlCredentials(credentials, split);
    return split.url === f.remoteName ? f : { ...f, remoteName: split.url };
  });
  return credentials === job.credentials ? job : { ...job, files, credentials };
}

/**
 * AddFileSet: validate every file, the legality of the call and the quotas, and return the new
 * file records (indexes follow the existing files; URLs without userinfo) and the credentials
 * their userinfo gave the job. All or nothing: any bad file throws.
 */
export function newFiles(job: Job, files: readonly NewFile[], ctx: CallerContext, quotas: Quotas): AddedFiles {
  checkNow(ctx.now);
  if (!Array.isArray(files) || files.length === 0) throw new BitsError('E_INVALIDARG', 'the file set is empty');
  const withRanges = files.some((f) => f.ranges !== undefined && f.ranges !== null);
  assertJobMethod(job, withRanges ? 'addFileWithRanges' : 'addFile');
  if (files.some((f) => (f.mirrors ?? []).length > 0)) assertJobMethod(job, 'setFileMirrors');
  if (files.some((f) => (f.digests ?? []).length > 0 || (f.pieces ?? null) !== null)) {
    assertJobMethod(job, 'setFileDigests');
  }
  if (job.type !== 'DOWNLOAD' && job.files.length + files.length > 1) {
    throw new BitsError('BG_E_TOO_MANY_FILES', `upload job ${job.id} takes exactly one file`, {
      context: 'GENERAL_QUEUE_MANAGER',
    });
  }
  if (!ctx.isAdmin && job.files.length + files.length > quotas.maxFilesPerJob) {
    throw new BitsError(
      'BG_E_TOO_MANY_FILES_IN_JOB',
      `job ${job.id} would hold ${job.files.length + files.length} files (MaxFilesPerJob ${quotas.maxFilesPerJob})`,
      { context: 'GENERAL_QUEUE_MANAGER' },
    );
  }
  let credentials = job.credentials;
  const added = files.map((file, i): JobFile => {
    const split = splitUrlCredentials(validateRemoteUrl(file.remoteName, { uploadOnly: job.type !== 'DOWNLOAD' }));
    credentials = withUrlCredentials(credentials, split);
    const remoteName = split.url;
    const localName = validateLocalPath(file.localName);
    let ranges: JobFile['ranges'] = null;
    if (file.ranges !== undefined && file.ranges !== null) {
      ranges = validateRanges(file.ranges);
      if (!ctx.isAdmin && ranges.length > quotas.maxRangesPerFile) {
        throw new BitsError(
          'BG_E_TOO_MANY_RANGES_IN_FILE',
          `${localName} has ${ranges.length} ranges (MaxRangesPerFile ${quotas.maxRangesPerFile})`,
          { context: 'GENERAL_QUEUE_MANAGER' },
        );
      }
    }
    return {
      index: job.files.length + i,
      remoteName,
      localName,
      ranges,
      bytesTotal: SIZE_UNKNOWN,
      bytesTransferred: 0,
      transferred: false,
      completed: false,
      temporaryName: null,
      temporaryFileId: null,
      readyMode: null,
      validators: null,
      segments: null,
      mirrors: file.mirrors === undefined ? [] : validateMirrors(file.mirrors),
      digests: file.digests === undefined ? [] : validateDigests(file.digests),
      pieces: file.pieces === undefined ? null : validatePieces(file.pieces),
    };
  });
  return { files: added, credentials };
}

/**
 * The job after its files were added (URL userinfo moved into its credentials). An upload-reply
 * job without a reply file name gets the one BITS generates once the file is known, so
 * GetReplyFileName names the file Complete publishes.
 */
export function withFiles(job: Job, added: AddedFiles, now: number): Job {
  const files = [...job.files, ...added.files];
  return {
    ...job,
    files,
    credentials: added.credentials,
    replyFileName: job.replyFileName ?? defaultReplyFileName(job.type, job.id, files),
    times: { ...job.times, modificationTime: now },
  };
}

/** SetReplyFileName(NULL) and AddFile: the generated name of an upload-reply job with its file, else null. */
export function defaultReplyFileName(type: Job['type'], jobId: string, files: readonly JobFile[]): string | null {
  const file = files[0];
  return type === 'UPLOAD_REPLY' && file !== undefined ? generatedReplyFileName(file.localName, jobId) : null;
}

const METHOD_EVENTS = new Set<string>(JOB_METHODS);

function checkRecordedError(job: Job, error: TransitionInput['error']): NonNullable<TransitionInput['error']> {
  if (error === null || error === undefined || typeof error !== 'object') {
    throw new BitsError('E_INVALIDARG', 'this transition records an error: pass one');
  }
  const info = errorInfo(error.name);
  if (info === undefined || info.hresult !== error.hresult) {
    throw new BitsError('E_INVALIDARG', `recorded error ${String(error.name)} is not a registered BITS error`);
  }
  if (!(ERROR_CONTEXTS as readonly string[]).includes(error.context) || typeof error.message !== 'string') {
    throw new BitsError('E_INVALIDARG', 'recorded error needs a BG_ERROR_CONTEXT and a message');
  }
  const fi = error.fileIndex;
  if (fi !== null && (!Number.isInteger(fi) || fi < 0 || fi >= job.files.length)) {
    throw new BitsError('E_INVALIDARG', `recorded error names file ${String(fi)}, which job ${job.id} does not have`);
  }
  return { name: error.name, hresult: error.hresult, context: error.context, message: error.message, fileIndex: fi };
}

/**
 * Apply one row of core's transition table, compare-and-set: the job must still be in
 * `change.expected`, the event must be legal from there (and, for the four state methods, the
 * method-legality table must allow it: Resume on an empty job is BG_E_EMPTY).
 */
export function transitionJob(job: Job, change: TransitionInput, transferState?: unknown): Job {
  const now = checkNow(change.now);
  if (job.state !== change.expected) {
    throw new BitsError(
      'BG_E_INVALID_STATE',
      `job ${job.id} is ${job.state}, not ${change.expected} as expected: ${change.event} was not applied`,
      { context: 'GENERAL_QUEUE_MANAGER' },
    );
  }
  if (METHOD_EVENTS.has(change.event)) assertJobMethod(job, change.event as JobMethod, transferState);
  const result = transition(job.state, change.event, job.type);
  if (!result.ok) {
    throw new BitsError(
      'BG_E_INVALID_STATE',
      `${change.event} is not allowed for ${job.type} job ${job.id} in state ${job.state}`,
      { context: 'GENERAL_QUEUE_MANAGER' },
    );
  }
  const { row } = result;
  let error = job.error;
  if (row.error === 'set') error = checkRecordedError(job, change.error);
  else if (row.error === 'clear') error = null;
  return {
    ...job,
    state: result.to,
    errorCount: row.countsError === true ? job.errorCount + 1 : job.errorCount,
    error,
    everResumed: job.everResumed || change.event === 'resume',
    times: {
      ...job.times,
      modificationTime: now,
      transferCompletionTime: change.event === 'all_files_done' ? now : job.times.transferCompletionTime,
    },
  };
}

/** The store records nothing more on a final job (the transfer engine raced a Cancel/Complete). */
export function assertNotFinal(job: Job, what: string): void {
  if (isFinalState(job.state)) {
    throw new BitsError('BG_E_INVALID_STATE', `job ${job.id} is ${job.state}: ${what} refused`, {
      context: 'GENERAL_QUEUE_MANAGER',
    });
  }
}

/** The file at `index`, or E_INVALIDARG. */
export function fileAt(job: Job, index: number): JobFile {
  const file = Number.isInteger(index) ? job.files[index] : undefined;
  if (file === undefined) throw new BitsError('E_INVALIDARG', `job ${job.id} has no file ${String(index)}`);
  return file;
}

/** Byte counts: whole numbers, transferred never past a known total. */
export function checkFileBytes(job: Job, file: JobFile): void {
  const { bytesTotal: total, bytesTransferred: done } = file;
  if (!Number.isSafeInteger(total) || total < SIZE_UNKNOWN || !Number.isSafeInteger(done) || done < 0) {
    throw new BitsError('E_INVALIDARG', `file ${file.index} of job ${job.id}: byte counts must be whole numbers`);
  }
  if (total !== SIZE_UNKNOWN && done > total) {
    throw new BitsError('E_INVALIDARG', `file ${file.index} of job ${job.id}: ${done} bytes transferred of ${total}`);
  }
}

/** The most parts a segmented layout may record (splits are bounded by the minimum part size). */
const MAX_SEGMENTS = 4096;

/**
 * A segmented layout as the engine reports it: ordered, disjoint parts with start ≤ done ≤ end,
 * whose durable bytes add up to `bytesTransferred` when given.
 */
export function checkSegments(value: unknown, bytesTransferred: number | null): FileSegment[] {
  const bad = (why: string) => new BitsError('E_INVALIDARG', `segments: ${why}`);
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_SEGMENTS) {
    throw bad(`a list of 1 to ${MAX_SEGMENTS} parts`);
  }
  let at = 0;
  let sum = 0;
  const out = value.map((v: unknown) => {
    const { start, end, done } = (v ?? {}) as Record<string, unknown>;
    const ints = [start, end, done].every((n) => Number.isSafeInteger(n));
    if (!ints || (start as number) < at || (end as number) < (start as number)) throw bad('ordered, disjoint parts');
    if ((done as number) < (start as number) || (done as number) > (end as number)) throw bad('done outside its part');
    at = end as number;
    sum += (done as number) - (start as number);
    return { start: start as number, end: end as number, done: done as number };
  });
  if (bytesTransferred !== null && sum !== bytesTransferred) {
    throw bad(`${sum} durable bytes recorded as ${bytesTransferred}`);
  }
  return out;
}

/** saveCheckpoint: the durable offset of one file. */
export function checkpointJob(
  job: Job,
  index: number,
  bytesTransferred: number,
  now: number,
  segments?: readonly FileSegment[],
): Job {
  checkNow(now);
  assertNotFinal(job, 'checkpoint');
  const file: JobFile = { ...fileAt(job, index), bytesTransferred };
  if (segments !== undefined)
    (file as { segments: JobFile['segments'] }).segments = checkSegments(segments, bytesTransferred);
  checkFileBytes(job, file);
  return replaceFile(job, file, now);
}

/** saveWritten's argument: a byte count and a boot id (a caller's bug otherwise: E_INVALIDARG). */
export function checkWritten(written: WrittenBytes): WrittenBytes {
  const bad = (why: string) => new BitsError('E_INVALIDARG', `saveWritten: ${why}`);
  if (!Number.isSafeInteger(written.bytes) || written.bytes < 0) throw bad(`bytes ${written.bytes}`);
  if (written.boot.length === 0 || written.boot.length > 64) throw bad(`boot id ${JSON.stringify(written.boot)}`);
  return { bytes: written.bytes, boot: written.boot };
}

/** Whether saveWritten keeps `written` for `file`: past its durable offset, short of its size, not transferred. */
export function keepsWritten(file: JobFile, written: WrittenBytes): boolean {
  return (
    !file.transferred &&
    written.bytes > file.bytesTransferred &&
    (file.bytesTotal < 0 || written.bytes < file.bytesTotal)
  );
}

/** The job with one file replaced and ModificationTime set. */
export function replaceFile(job: Job, file: JobFile, now: number): Job {
  const files = job.files.map((f) => (f.index === file.index ? file : f));
  return { ...job, files, times: { ...job.times, modificationTime: now } };
}

/** Timers are elapsed amounts in ms: finite and ≥ 0 (null where the type allows). */
export function checkTimers(timers: JobTimers): JobTimers {
  const ok = (v: unknown, nullable: boolean): boolean =>
    (nullable && v === null) || (typeof v === 'number' && Number.isFinite(v) && v >= 0);
  if (
    timers === null ||
    typeof timers !== 'object' ||
    !ok(timers.activeMs, false) ||
    !ok(timers.noProgressMs, true) ||
    !ok(timers.retryRemainingMs, true) ||
    !ok(timers.inactiveMs, false)
  ) {
    throw new BitsError('E_INVALIDARG', 'timers must be elapsed milliseconds ≥ 0');
  }
  return {
    activeMs: timers.activeMs,
    noProgressMs: timers.noProgressMs,
    retryRemainingMs: timers.retryRemainingMs,
    inactiveMs: timers.inactiveMs,
  };
}
