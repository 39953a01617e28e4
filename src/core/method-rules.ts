import { BitsError } from './bits-error.ts';
import type { ErrorName } from './error-codes.ts';
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
  'setDynamicContent',
  'setHighPerformance',
  'setMaxDownloadSize',
  'setMaxBandwidth',
  'setFileMode',
  'setCostFlags',
  'setReplyFileName',
  'getReplyData',
  'getReplyProgress',
  'getReplyFileName',
  'getError',
  'takeOwnership',
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

/** Throw the method's BitsError when the call is illegal. */
export function assertMethodAllowed(method: JobMethod, job: JobFacts): void {
  const name = methodError(method, job);
  if (name !== null) {
    throw new BitsError(name, `${method} is not allowed: job is ${job.type} in state ${job.state} (${name})`, {
      context: 'GENERAL_QUEUE_MANAGER',
    });
  }
}
