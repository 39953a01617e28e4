import {
  BitsError,
  type Credentials,
  INTEGER_RANGES,
  inIntegerRange,
  type Job,
  type JobFile,
  type JobMethod,
  splitUrlCredentials,
  validateBandwidth,
  validateCostFlags,
  validateCredentials,
  validateCustomHeaders,
  validateDescription,
  validateDigests,
  validateDisplayName,
  validateFileMode,
  validateLocalPath,
  validateMaxConnections,
  validateMinimumRetryDelay,
  validateMirrors,
  validateNotifyCmdLine,
  validateNotifyFlags,
  validatePieces,
  validatePriority,
  validateProxySettings,
  validateRemoteUrl,
  validateSeconds,
  validateSecurityFlags,
  validateWebhook,
  type Webhook,
} from '../core/index.ts';
import {
  assertJobMethod,
  assertNotFinal,
  checkFileBytes,
  checkNow,
  checkSegments,
  defaultReplyFileName,
  fileAt,
  replaceFile,
  withUrlCredentials,
} from './job-rules.ts';
import type { FileChange, FilePatch, JobPatch } from './job-store.ts';

/**
 * Property setters and per-file updates, applied to a job record (pure; shared by every store).
 * The store re-validates each value with core's validators, so a caller that skipped validation
 * still cannot store an oversize string or a header with a line break.
 */

type PatchKey = keyof JobPatch;

/** Which properties each setter may change; anything else in the patch is a caller bug. */
const METHOD_KEYS: Partial<Record<JobMethod, readonly PatchKey[]>> = {
  setDisplayName: ['displayName'],
  setDescription: ['description'],
  setPriority: ['priority'],
  setNotifyFlags: ['notifyFlags'],
  setNotifyCmdLine: ['notifyCmdLine'],
  setWebhooks: ['webhooks'],
  setMinimumRetryDelay: ['minimumRetryDelay'],
  setNoProgressTimeout: ['noProgressTimeout'],
  setMaximumDownloadTime: ['maximumDownloadTime'],
  setProxySettings: ['proxy'],
  setCustomHeaders: ['customHeaders'],
  makeCustomHeadersWriteOnly: ['customHeadersWriteOnly'],
  setCredentials: ['credentials'],
  removeCredentials: ['credentials'],
  setSecurityFlags: ['securityFlags'],
  setDynamicContent: ['dynamicContent'],
  setHighPerformance: ['highPerformance'],
  setMaxDownloadSize: ['maxDownloadSize'],
  setMaxBandwidth: ['maxBandwidth'],
  setFileMode: ['fileMode'],
  setMaxConnections: ['maxConnections'],
  setCostFlags: ['costFlags'],
  setReplyFileName: ['replyFileName'],
  // TakeOwnership strips what belonged to the previous owner (bits-client.md §18 item 19).
  takeOwnership: ['owner', 'credentials', 'customHeaders', 'notifyCmdLine', 'webhooks'],
};

const invalid = (message: string): BitsError => new BitsError('E_INVALIDARG', message);

function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw invalid(`${what} must be true or false`);
  return value;
}

function credentialList(value: unknown, job: Job): Credentials[] {
  if (!Array.isArray(value)) throw invalid('credentials must be a list');
  // An entry the job already holds stays as it is: a scheme refused today (NTLM stored by an
  // older openbits) must not block removing or keeping the others.
  const held = (c: unknown): c is Credentials => {
    const x = c as Partial<Credentials> | null;
    return job.credentials.some(
      (k) => k.target === x?.target && k.scheme === x.scheme && k.userName === x.userName && k.password === x.password,
    );
  };
  const list = value.map((c: unknown) => (held(c) ? c : validateCredentials(c)));
  const pairs = new Set(list.map((c) => `${c.target}/${c.scheme}`));
  // One entry per (target, scheme) pair (bits-client.md §5.3).
  if (pairs.size !== list.length) throw invalid('credentials hold two entries for the same target and scheme');
  return list;
}

/** A job names at most this many webhooks (each one is a POST per event). */
export const MAX_WEBHOOKS_PER_JOB = 8;

function webhookList(value: unknown): Webhook[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw invalid('webhooks must be a list of { url, secret }, or null');
  if (value.length > MAX_WEBHOOKS_PER_JOB) throw invalid(`a job names at most ${MAX_WEBHOOKS_PER_JOB} webhooks`);
  const list = value.map((h: unknown) => validateWebhook(h));
  if (new Set(list.map((h) => h.url)).size !== list.length) throw invalid('webhooks name the same URL twice');
  return list;
}

const VALIDATORS: { readonly [K in PatchKey]-?: (value: unknown, job: Job) => Job[K] } = {
  displayName: (v) => validateDisplayName(v),
  description: (v) => validateDescription(v),
  priority: (v) => validatePriority(v),
  minimumRetryDelay: (v) => validateMinimumRetryDelay(v),
  noProgressTimeout: (v) => validateSeconds(v, 'no-progress timeout'),
  maximumDownloadTime: (v) => validateSeconds(v, 'maximum download time'),
  notifyFlags: (v) => validateNotifyFlags(v),
  notifyCmdLine: (v) => {
    if (v === null) return null;
    if (typeof v !== 'object') throw invalid('notify command line must be { program, parameters } or null');
    const { program, parameters } = v as { program?: unknown; parameters?: unknown };
    return validateNotifyCmdLine(program, parameters);
  },
  webhooks: (v) => webhookList(v),
  proxy: (v) => validateProxySettings(v),
  securityFlags: (v) => validateSecurityFlags(v),
  customHeaders: (v) => (v === null ? null : validateCustomHeaders(v)),
  customHeadersWriteOnly: (v, job) => {
    const on = bool(v, 'customHeadersWriteOnly');
    // MakeCustomHeadersWriteOnly is irreversible (bits-client.md §5.10).
    if (!on && job.customHeadersWriteOnly) throw invalid('custom headers are write-only for good');
    return on;
  },
  credentials: (v, job) => credentialList(v, job),
  dynamicContent: (v) => bool(v, 'dynamic content'),
  highPerformance: (v) => bool(v, 'high performance'),
  maxDownloadSize: (v) => {
    if (v === null) return null;
    if (!inIntegerRange(v, INTEGER_RANGES.maxDownloadSize)) {
      throw new BitsError('BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE', 'maximum download size must be a byte count > 0');
    }
    return v as number;
  },
  maxBandwidth: (v) => validateBandwidth(v),
  fileMode: (v) => validateFileMode(v),
  maxConnections: (v) => validateMaxConnections(v),
  costFlags: (v) => (v === null ? null : validateCostFlags(v)),
  replyFileName: (v, job) =>
    v === null ? defaultReplyFileName(job.type, job.id, job.files) : validateLocalPath(v, 'reply file name'),
  owner: (v) => {
    if (typeof v !== 'string' || v === '' || v.length > 256 || v.includes('\0')) {
      throw invalid('owner must be a non-empty string of at most 256 characters');
    }
    return v;
  },
};

/** A property setter: legality of `method`, the keys it may change, each value validated. */
export function patchJob(job: Job, method: JobMethod, patch: JobPatch, now: number, transferState?: unknown): Job {
  checkNow(now);
  const allowed = METHOD_KEYS[method];
  if (allowed === undefined) throw invalid(`${method} is not a property setter`);
  if (patch === null || typeof patch !== 'object') throw invalid('patch must be an object');
  const keys = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
  if (keys.length === 0) throw invalid(`${method}: nothing to change`);
  for (const key of keys) {
    if (!(allowed as readonly string[]).includes(key)) throw invalid(`${method} cannot change ${key}`);
  }
  assertJobMethod(job, method, transferState);
  const next: Record<string, unknown> = { ...job };
  for (const key of keys as PatchKey[]) {
    next[key] = VALIDATORS[key]((patch as Record<string, unknown>)[key], job);
  }
  return { ...(next as unknown as Job), times: { ...job.times, modificationTime: now } };
}

const FILE_VALIDATORS: { readonly [K in keyof FilePatch]-?: (value: unknown, job: Job) => JobFile[K] } = {
  remoteName: (v, job) => validateRemoteUrl(v, { uploadOnly: job.type !== 'DOWNLOAD' }),
  bytesTotal: (v) => v as number,
  bytesTransferred: (v) => v as number,
  transferred: (v) => bool(v, 'transferred'),
  completed: (v) => bool(v, 'completed'),
  temporaryName: (v) => (v === null ? null : validateLocalPath(v, 'temporary name')),
  temporaryFileId: (v) => (v === null ? null : String(v)),
  readyMode: (v) => {
    if (v === null) return null;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0o7777) throw invalid('readyMode is a file mode');
    return v as number;
  },
  validators: (v) => {
    if (v === null) return null;
    const { size, lastModified = null, etag = null } = (v ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(size) || (size as number) < -1) throw invalid('validators need a size');
    if ((lastModified !== null && typeof lastModified !== 'string') || (etag !== null && typeof etag !== 'string')) {
      throw invalid('validators: lastModified and etag are strings or null');
    }
    return { size: size as number, lastModified, etag };
  },
  segments: (v) => (v === null ? null : checkSegments(v, null)),
  mirrors: (v) => validateMirrors(v),
  digests: (v) => validateDigests(v),
  pieces: (v) => validatePieces(v),
};

/** Per-file changes reported by the transfer engine or made by Complete. */
export function patchFile(job: Job, index: number, patch: FilePatch, now: number): Job {
  checkNow(now);
  assertNotFinal(job, 'file update');
  const { file, credentials } = patchedFile(job, fileAt(job, index), patch);
  return { ...replaceFile(job, file, now), credentials };
}

/**
 * Several files' changes (updateFiles), each applied as patchFile would (in order, so a second
 * change of a file sees the first), the file list copied once at the end: patching a round of 16
 * files, or Complete's 1,000, costs O(changes + files), never a walk of the list per change.
 */
export function patchFiles(job: Job, changes: readonly FileChange[], now: number): Job {
  checkNow(now);
  assertNotFinal(job, 'file update');
  const patched = new Map<number, JobFile>();
  let credentials = job.credentials;
  for (const { index, patch } of changes) {
    // The job is copied only for a change that sees credentials an earlier change moved in.
    const seen = credentials === job.credentials ? job : { ...job, credentials };
    const next = patchedFile(seen, patched.get(index) ?? fileAt(job, index), patch);
    patched.set(index, next.file);
    credentials = next.credentials;
  }
  const files = job.files.slice();
  for (const [index, file] of patched) files[index] = file;
  return { ...job, credentials, files, times: { ...job.times, modificationTime: now } };
}

/** One file's change on a copy of it, and the job's credentials after it (a new remote name's userinfo joins them); the list is not touched. */
function patchedFile(
  job: Job,
  current: JobFile,
  patch: FilePatch,
): { readonly file: JobFile; readonly credentials: Job['credentials'] } {
  const file: Record<string, unknown> = { ...current };
  if (patch === null || typeof patch !== 'object') throw invalid('file patch must be an object');
  let changed = false;
  // for…in, not Object.entries: no array per key (a run patches a file per round, 1,000 a job).
  for (const key in patch) {
    const value = (patch as Record<string, unknown>)[key];
    if (!Object.hasOwn(patch, key) || value === undefined) continue;
    if (!Object.hasOwn(FILE_VALIDATORS, key)) throw invalid(`files have no property ${key}`);
    file[key] = FILE_VALIDATORS[key as keyof FilePatch](value, job);
    changed = true;
  }
  if (!changed) throw invalid('file update: nothing to change');
  // SetRemoteName, ReplaceRemotePrefix: the URL's userinfo moves into the job's credentials.
  const split = splitUrlCredentials(file.remoteName as string);
  file.remoteName = split.url;
  const next = file as unknown as JobFile;
  checkFileBytes(job, next);
  return { file: next, credentials: withUrlCredentials(job.credentials, split) };
}
