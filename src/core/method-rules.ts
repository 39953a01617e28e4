import { BitsError } from './bits-error.ts';
import { type ErrorName, errorInfo } from './error-codes.ts';
import { hasErrorState, isFinalState, type JobState, type JobType } from './job-state.ts';

/**
 * The method-legality table (bits-client.md §2.3): which job methods may be called in which
 * state and on which job type, and the exact error each illegal call returns.
 */
export const JOB_METHODS = [
  'resume',
  'suspend',
  'cancel',
  'complete',
  'addFile',
  'addFileWithRanges',
  'setDisplayName',
  'setDescription',
  'setPriority',
  'setNotifyFlags',
  'setNotifyCmdLine',
  'setWebhooks',
  'setMinimumRetryDelay',
  'setNoProgressTimeout',
  'setMaximumDownloadTime',
  'setProxySettings',
  'setCustomHeaders',
  'makeCustomHeadersWriteOnly',
  'setCredentials',
  'removeCredentials',
  'setSecurityFlags',
  'replaceRemotePrefix',
  'setRemoteName',
  'setFileMirrors',
  'setFileDigests',
  'setDynamicContent',
  'setHighPerformance',
  'setMaxDownloadSize',
  'setMaxBandwidth',
  'setFileMode',
  'setMaxConnections',
  'setCostFlags',
  'setReplyFileName',
  'getReplyData',
  'getReplyProgress',
  'getReplyFileName',
  'getError',
  'takeOwnership',
  'getState',
  'getProgress',
  'getTimes',
  'enumFiles',
  'getCustomHeaders',
] as const;
export type JobMethod = (typeof JOB_METHODS)[number];

/** What the legality check needs to know about a job. */
export interface JobFacts {
  readonly state: JobState;
  readonly type: JobType;
  readonly fileCount: number;
  readonly everResumed: boolean;
  /** Upload-reply: the reply download has begun (its size is known). */
  readonly replyStarted: boolean;
}

/**
 * The one part of a job's stored transfer state (JobStore.saveTransferState; an upload session,
 * owned by the upload engine) that the legality table reads: the reply's size, -1 until the
 * reply download began.
 */
export interface ReplyFacts {
  readonly replyBytesTotal: number;
}

/** `replyStarted` from a stored transfer state (anything else counts as not started). */
export function replyStartedIn(transferState: unknown): boolean {
  if (typeof transferState !== 'object' || transferState === null) return false;
  const total = (transferState as Partial<ReplyFacts>).replyBytesTotal;
  return typeof total === 'number' && total >= 0;
}

interface MethodRule {
  /** Types that may call it; others get `typeError`. */
  readonly types?: readonly JobType[];
  readonly typeError?: ErrorName;
  /** Extra state rule beyond "not final"; returns the error name or null. */
  readonly check?: (job: JobFacts) => ErrorName | null;
  /** Allowed in final states too (GetReplyData after Complete). */
  readonly finalAllowed?: (state: JobState) => boolean;
}

const UPLOAD_REPLY: readonly JobType[] = ['UPLOAD_REPLY'];
const DOWNLOAD: readonly JobType[] = ['DOWNLOAD'];

export const METHOD_RULES: Readonly<Record<JobMethod, MethodRule>> = {
  resume: { check: (j) => (j.fileCount === 0 ? 'BG_E_EMPTY' : null) },
  suspend: {},
  cancel: {},
  complete: {
    check: (j) => (j.type !== 'DOWNLOAD' && j.state !== 'TRANSFERRED' ? 'BG_E_INVALID_STATE' : null),
  },
  addFile: {
    check: (j) => (j.type !== 'DOWNLOAD' && j.fileCount >= 1 ? 'BG_E_TOO_MANY_FILES' : null),
  },
  addFileWithRanges: { types: DOWNLOAD, typeError: 'E_NOTIMPL' },
  setDisplayName: {},
  setDescription: {},
  setPriority: {},
  setNotifyFlags: {},
  setNotifyCmdLine: {},
  setWebhooks: {},
  setMinimumRetryDelay: {},
  setNoProgressTimeout: {},
  setMaximumDownloadTime: {},
  setProxySettings: {},
  setCustomHeaders: {},
  makeCustomHeadersWriteOnly: {},
  setCredentials: {},
  removeCredentials: {},
  setSecurityFlags: {},
  replaceRemotePrefix: { types: DOWNLOAD, typeError: 'E_NOTIMPL' },
  setRemoteName: { types: DOWNLOAD, typeError: 'E_NOTIMPL' },
  setFileMirrors: { types: DOWNLOAD, typeError: 'E_NOTIMPL' },
  setFileDigests: { types: DOWNLOAD, typeError: 'E_NOTIMPL' },
  setDynamicContent: {
    types: DOWNLOAD,
    typeError: 'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY',
    check: (j) => (j.everResumed ? 'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME' : null),
  },
  setHighPerformance: {
    types: DOWNLOAD,
    typeError: 'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY',
    check: (j) => (j.fileCount > 0 ? 'BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE' : null),
  },
  setMaxDownloadSize: {
    types: DOWNLOAD,
    typeError: 'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY',
    check: (j) => (j.everResumed ? 'BG_E_READ_ONLY_PROPERTY_AFTER_RESUME' : null),
  },
  setMaxBandwidth: {},
  setFileMode: {},
  setMaxConnections: { types: DOWNLOAD, typeError: 'BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY' },
  setCostFlags: {},
  setReplyFileName: {
    types: UPLOAD_REPLY,
    typeError: 'E_NOTIMPL',
    check: (j) => (j.replyStarted || j.state === 'TRANSFERRED' ? 'BG_E_INVALID_STATE' : null),
  },
  getReplyData: {
    types: UPLOAD_REPLY,
    typeError: 'E_NOTIMPL',
    check: (j) => (j.state === 'TRANSFERRED' || j.state === 'ACKNOWLEDGED' ? null : 'BG_E_INVALID_STATE'),
    finalAllowed: (s) => s === 'ACKNOWLEDGED',
  },
  getReplyProgress: { types: UPLOAD_REPLY, typeError: 'E_NOTIMPL', finalAllowed: () => true },
  getReplyFileName: { types: UPLOAD_REPLY, typeError: 'E_NOTIMPL', finalAllowed: () => true },
  getError: {
    check: (j) => (hasErrorState(j.state) ? null : 'BG_E_ERROR_INFORMATION_UNAVAILABLE'),
  },
  takeOwnership: {},
  // Getters answer in every state (§2.3), ACKNOWLEDGED and CANCELLED included, for as long as
  // the caller holds the job (its id), although GetJob no longer finds it.
  getState: { finalAllowed: () => true },
  getProgress: { finalAllowed: () => true },
  getTimes: { finalAllowed: () => true },
  enumFiles: { finalAllowed: () => true },
  getCustomHeaders: { finalAllowed: () => true },
};

/** The error an illegal call returns, or null when the call is allowed. */
export function methodError(method: JobMethod, job: JobFacts): ErrorName | null {
  const rule = METHOD_RULES[method];
  if (rule.types !== undefined && !rule.types.includes(job.type)) return rule.typeError ?? 'E_NOTIMPL';
  if (isFinalState(job.state) && !(rule.finalAllowed?.(job.state) ?? false)) {
    return method === 'getError' ? 'BG_E_ERROR_INFORMATION_UNAVAILABLE' : 'BG_E_INVALID_STATE';
  }
  return rule.check?.(job) ?? null;
}

/**
 * The error an illegal call throws, or null when the call is allowed. Each code says its own
 * sentence: BG_E_INVALID_STATE names the state; any other code gives the registry's message for
 * it, after the method and the job it was called on.
 */
export function methodRefusal(method: JobMethod, job: JobFacts, jobId?: string): BitsError | null {
  const name = methodError(method, job);
  if (name === null) return null;
  const which = jobId === undefined ? `${job.type} job` : `${job.type} job ${jobId}`;
  const message =
    name === 'BG_E_INVALID_STATE'
      ? `${method} is not allowed on ${which} in state ${job.state}`
      : `${method} on ${which} in state ${job.state}: ${errorInfo(name)?.message ?? name}`;
  return new BitsError(name, message, { context: 'GENERAL_QUEUE_MANAGER' });
}

/** Throw the method's BitsError when the call is illegal. */
export function assertMethodAllowed(method: JobMethod, job: JobFacts): void {
  const refusal = methodRefusal(method, job);
  if (refusal !== null) throw refusal;
}
