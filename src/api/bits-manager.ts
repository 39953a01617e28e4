import type {
  AuthScheme,
  AuthTarget,
  BitsErrorData,
  Credentials,
  DigestAlgorithm,
  ErrorName,
  FileDigest,
  FileProgress,
  FileRange,
  FileSegment,
  Job,
  JobPriority,
  JobProgress,
  JobState,
  JobTimes,
  JobType,
  PieceDigests,
  ProxySettings,
  ReplyProgress,
  Webhook,
} from '../core/index.ts';

/**
 * The manager interface (the shape of IBackgroundCopyManager + IBackgroundCopyJob, flattened to
 * job-id calls). `createManager()` (in-process) and `connect()` (through bitsd) both return it,
 * and one contract suite runs against both. Every failure is a BitsError.
 */
export interface BitsManager {
  /** CreateJob: a new SUSPENDED job with BITS's defaults. */
  createJob(displayName: string, type?: JobType): Promise<JobInfo>;
  /**
   * GetJob: BG_E_NOT_FOUND for unknown and final jobs. `files: false` leaves the file list out
   * (an empty `files`; `progress` still totals every file): what a watcher of a job of many
   * files reads, at a cost that does not grow with them on the wire.
   */
  getJob(jobId: string, options?: { files?: boolean }): Promise<JobInfo>;
  /** EnumJobs: the caller's jobs (allUsers: admin only, else E_ACCESSDENIED). */
  enumJobs(options?: { allUsers?: boolean }): Promise<JobInfo[]>;
  /**
   * Beyond BITS: the caller's jobs (allUsers as in enumJobs) as summaries — what `bitsadmin
   * /list` prints, a tenth of enumJobs' bytes: a list of 10,000 jobs without parsing 11 MB.
   */
  enumJobSummaries(options?: { allUsers?: boolean }): Promise<JobSummary[]>;
  /** The job named by GUID or by a unique display name (bitsadmin's `<job>`); `files` as in getJob. */
  findJob(nameOrId: string, options?: { files?: boolean }): Promise<JobInfo>;

  addFile(jobId: string, remoteName: string, localName: string): Promise<void>;
  /** `mirrors` (beyond BITS): other URLs of the same file, download jobs only. */
  addFileSet(jobId: string, files: ReadonlyArray<NewFileSpec>): Promise<void>;
  addFileWithRanges(jobId: string, remoteName: string, localName: string, ranges: readonly FileRange[]): Promise<void>;
  enumFiles(jobId: string): Promise<FileInfo[]>;

  resume(jobId: string): Promise<void>;
  suspend(jobId: string): Promise<void>;
  /** S_OK, or BG_S_UNABLE_TO_DELETE_FILES. */
  cancel(jobId: string): Promise<ResultCode>;
  /** S_OK, BG_S_PARTIAL_COMPLETE or BG_S_UNABLE_TO_DELETE_FILES. */
  complete(jobId: string): Promise<ResultCode>;

  /**
   * GetState, GetProgress, GetTimes (and EnumFiles, GetError, the reply getters) answer in every
   * state: after Complete or Cancel too (ACKNOWLEDGED / CANCELLED), as a BITS job pointer the
   * caller still holds does, while GetJob and EnumJobs no longer find the job.
   */
  getState(jobId: string): Promise<JobState>;
  getProgress(jobId: string): Promise<JobProgress>;
  getTimes(jobId: string): Promise<JobTimes>;
  /** GetError: BG_E_ERROR_INFORMATION_UNAVAILABLE unless ERROR/TRANSIENT_ERROR. */
  getError(jobId: string): Promise<JobErrorInfo>;

  setDisplayName(jobId: string, name: string): Promise<void>;
  setDescription(jobId: string, description: string): Promise<void>;
  setPriority(jobId: string, priority: JobPriority): Promise<void>;
  setNotifyFlags(jobId: string, flags: number): Promise<void>;
  setNotifyCmdLine(jobId: string, program: string | null, parameters: string | null): Promise<void>;
  /** Beyond BITS: the job's webhooks, each `{ url, secret }` (docs/webhooks.md); null removes them. */
  setWebhooks(jobId: string, hooks: readonly Webhook[] | null): Promise<void>;
  setMinimumRetryDelay(jobId: string, seconds: number): Promise<void>;
  setNoProgressTimeout(jobId: string, seconds: number): Promise<void>;
  setMaximumDownloadTime(jobId: string, seconds: number): Promise<void>;
  setProxySettings(jobId: string, settings: ProxySettings): Promise<void>;
  /** Lines `Name: value`, or null to remove. */
  setCustomHeaders(jobId: string, headers: readonly string[] | null): Promise<void>;
  /** Owner only; E_ACCESSDENIED after makeCustomHeadersWriteOnly. Null when none. */
  getCustomHeaders(jobId: string): Promise<string[] | null>;
  makeCustomHeadersWriteOnly(jobId: string): Promise<void>;
  setCredentials(jobId: string, credentials: Credentials): Promise<void>;
  removeCredentials(jobId: string, target: AuthTarget, scheme: AuthScheme): Promise<ResultCode>;
  setSecurityFlags(jobId: string, flags: number): Promise<void>;
  /** S_OK, or S_FALSE when no remote name matched. */
  replaceRemotePrefix(jobId: string, oldPrefix: string, newPrefix: string): Promise<ResultCode>;
  setRemoteName(jobId: string, fileIndex: number, remoteName: string): Promise<void>;
  /** BITS_JOB_PROPERTY_DYNAMIC_CONTENT (before the first Resume). */
  setDynamicContent(jobId: string, enable: boolean): Promise<void>;
  /** BITS_JOB_PROPERTY_HIGH_PERFORMANCE (before any file is added). */
  setHighPerformance(jobId: string, enable: boolean): Promise<void>;
  /** BITS_JOB_PROPERTY_MAX_DOWNLOAD_SIZE (before the first Resume); null removes. */
  setMaxDownloadSize(jobId: string, bytes: number | null): Promise<void>;
  /** Beyond BITS: per-job bandwidth cap in bytes per second; 0 removes it. */
  setMaxBandwidth(jobId: string, bytesPerSecond: number): Promise<void>;
  /**
   * Beyond BITS: the mode Complete gives the published files (permission bits, e.g. 0o600), or
   * null (the default) for 0o666 & ~umask of the service, as curl and wget create files.
   */
  setFileMode(jobId: string, mode: number | null): Promise<void>;
  /** Beyond BITS: connections one file may use at once, 1–16 (docs/transfer.md, segmented downloads). */
  setMaxConnections(jobId: string, connections: number): Promise<void>;
  /**
   * Beyond BITS: replace file `fileIndex`'s mirrors (other http(s) URLs of the same file, at most
   * 16; docs/transfer.md, mirrors). A running transfer stops and goes on with the new list.
   */
  setFileMirrors(jobId: string, fileIndex: number, urls: readonly string[]): Promise<void>;
  /**
   * Beyond BITS: replace file `fileIndex`'s whole-file digests (one per algorithm: sha-256,
   * sha-512, sha-1, md5; hex) and, when given, its piece digests. They are checked when the last
   * byte is durable; a mismatch fetches the bad pieces again (BG_E_DIGEST_MISMATCH when that fails).
   */
  setFileDigests(
    jobId: string,
    fileIndex: number,
    digests: readonly FileDigest[],
    pieces?: PieceDigests | null,
  ): Promise<void>;
  /**
   * BITS_JOB_PROPERTY_ID_COST_FLAGS: the network cost states the job may transfer on (a mask of
   * BITS_COST_STATE_* bits, e.g. 0x80000021 UNRESTRICTED), or null for the policy's default.
   */
  setCostFlags(jobId: string, flags: number | null): Promise<void>;
  setReplyFileName(jobId: string, path: string | null): Promise<void>;
  getReplyFileName(jobId: string): Promise<string | null>;
  getReplyProgress(jobId: string): Promise<ReplyProgress>;
  /** ≤ 1 MiB, else BG_E_TOO_LARGE; null when the server sent no reply. */
  getReplyData(jobId: string): Promise<Buffer | null>;
  takeOwnership(jobId: string): Promise<void>;

  /** GetErrorDescription. */
  getErrorDescription(hresult: number): Promise<string>;

  /** The service policy in force (quotas, concurrency, slices, timeouts, bandwidth), as JSON. */
  getPolicy(): Promise<PolicyDocument>;
  /** Change one setting of the policy file (dotted key; null removes it) and apply it. */
  setPolicy(key: string, value: unknown): Promise<PolicyDocument>;
  /** Re-read the policy file (as SIGHUP does); a bad file changes nothing and throws. */
  reloadPolicy(): Promise<PolicyDocument>;

  /** Live events; returns an unsubscribe function. */
  subscribe(listener: (event: ManagerEvent) => void, filter?: { jobId?: string }): Unsubscribe;
  /** The same events as an async iterator; ends when `signal` aborts or the manager closes. */
  events(options?: { jobId?: string; signal?: AbortSignal }): AsyncIterable<ManagerEvent>;

  close(): Promise<void>;
}

/**
 * What subscribe returns: call it to stop listening. Over the socket the stream opens in the
 * background; `ready` (absent or already resolved in-process) resolves once events flow, so a
 * caller can subscribe, await ready, then act without missing the first event.
 */
export type Unsubscribe = (() => void) & { readonly ready?: Promise<void> };

/**
 * The policy as JSON (`docs/scheduling.md`): the keys of `config.json` with every value in force;
 * rates in bytes per second or "off" (unlimited), the timetable as its text form.
 */
export type PolicyDocument = Record<string, unknown>;

/** A success code some methods return. */
export type ResultCode = 'S_OK' | 'S_FALSE' | 'BG_S_PARTIAL_COMPLETE' | 'BG_S_UNABLE_TO_DELETE_FILES';

/** A job as callers see it: no passwords, no write-only headers. */
export interface JobInfo
  extends Omit<Job, 'credentials' | 'customHeaders' | 'files' | 'error' | 'times' | 'everResumed' | 'webhooks'> {
  readonly credentials: ReadonlyArray<{ target: AuthTarget; scheme: AuthScheme; userName: string | null }>;
  /** The job's webhooks (docs/webhooks.md), without their secrets. */
  readonly webhooks: ReadonlyArray<{ url: string }>;
  readonly hasCustomHeaders: boolean;
  readonly progress: JobProgress;
  readonly times: JobTimes;
  readonly replyProgress: ReplyProgress | null;
  /** The current error (only in ERROR / TRANSIENT_ERROR). */
  readonly error: JobErrorInfo | null;
  readonly files: FileInfo[];
  /** Beyond BITS: how its rate is decided while it transfers; null when it is not transferring. */
  readonly yielding: YieldStatus | null;
}

/** A listed job in brief (enumJobSummaries): the fields of its JobInfo that a list shows. */
export type JobSummary = Pick<
  JobInfo,
  'id' | 'type' | 'displayName' | 'owner' | 'state' | 'priority' | 'progress' | 'errorCount'
>;

/** Beyond BITS: how a running background job's rate is decided now (docs/scheduling.md). */
export interface YieldStatus {
  /**
   * `yielding`: the rate follows the link (LEDBAT-style); `fixed`: no delay signal, so only the
   * configured limits apply; `off`: yielding is disabled, or the job is FOREGROUND or on loopback.
   */
  readonly mode: 'yielding' | 'fixed' | 'off';
  /** The rate the controller allows now (bytes/s), or null when it sets none. */
  readonly rate: number | null;
  /** The interface whose counters it reads, or null without counters. */
  readonly interface: string | null;
  /** Why it is not yielding, or lacks a signal; null when it has both. */
  readonly note: string | null;
}

/** A file to add: beyond BITS, with mirrors, digests and piece digests (Metalink). */
export interface NewFileSpec {
  readonly remoteName: string;
  readonly localName: string;
  readonly mirrors?: readonly string[];
  readonly digests?: readonly FileDigest[];
  readonly pieces?: PieceDigests | null;
}

export interface FileInfo {
  readonly index: number;
  readonly remoteName: string;
  readonly localName: string;
  readonly ranges: readonly FileRange[] | null;
  readonly progress: FileProgress;
  readonly temporaryName: string | null;
  /** Beyond BITS: a segmented download's parts, each durable from `start` to `done`, or null. */
  readonly segments: readonly FileSegment[] | null;
  /** Beyond BITS: other URLs of the same file. */
  readonly mirrors: readonly string[];
  /** Beyond BITS: whole-file digests the file is checked against. */
  readonly digests: readonly FileDigest[];
  /** Beyond BITS: piece digests, summarised (the hashes themselves stay in bitsd). */
  readonly pieces: { readonly algorithm: DigestAlgorithm; readonly length: number; readonly count: number } | null;
}

export interface JobErrorInfo extends BitsErrorData {
  readonly contextDescription: string;
  /** The file involved, or null (GetFile → BG_E_FILE_NOT_AVAILABLE). */
  readonly file: { index: number; remoteName: string; localName: string } | null;
  readonly protocol: string | null;
}

/** Events (names `noun:verb`). Progress is coalesced to ≤ 10 per second per job. */
export type ManagerEvent =
  | { type: 'job:created'; jobId: string }
  | { type: 'job:state'; jobId: string; state: JobState; previous: JobState }
  | { type: 'job:progress'; jobId: string; progress: JobProgress }
  | { type: 'file:transferred'; jobId: string; fileIndex: number }
  /** Beyond BITS: a mirror (or the remote name) was taken out of a transfer: it failed or lied. */
  | { type: 'file:source-dropped'; jobId: string; fileIndex: number; url: string; reason: string }
  | { type: 'job:transferred'; jobId: string }
  | { type: 'job:error'; jobId: string; error: BitsErrorData }
  | { type: 'job:modified'; jobId: string };

export type { ErrorName };
