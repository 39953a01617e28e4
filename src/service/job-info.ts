import type { FileInfo, JobErrorInfo, JobInfo, YieldStatus } from '../api/bits-manager.ts';
import {
  ERROR_CONTEXT_DESCRIPTIONS,
  fileProgress,
  hasErrorState,
  type Job,
  type JobFile,
  jobProgress,
} from '../core/index.ts';

/** The caller's view of a file. */
export function toFileInfo(file: JobFile): FileInfo {
  return {
    index: file.index,
    remoteName: file.remoteName,
    localName: file.localName,
    ranges: file.ranges,
    progress: fileProgress(file),
    temporaryName: file.temporaryName,
    segments: file.segments,
    mirrors: file.mirrors,
    digests: file.digests,
    pieces:
      file.pieces === null
        ? null
        : { algorithm: file.pieces.algorithm, length: file.pieces.length, count: file.pieces.hashes.length },
  };
}

/** GetError's view: only while the job is in ERROR / TRANSIENT_ERROR. */
export function toErrorInfo(job: Job): JobErrorInfo | null {
  if (!hasErrorState(job.state) || job.error === null) return null;
  const { fileIndex, ...data } = job.error;
  const file = fileIndex === null ? undefined : job.files[fileIndex];
  const remote = file?.remoteName ?? '';
  return {
    ...data,
    contextDescription: ERROR_CONTEXT_DESCRIPTIONS[data.context],
    file: file === undefined ? null : { index: file.index, remoteName: file.remoteName, localName: file.localName },
    protocol:
      file === undefined ? null : remote.startsWith('https:') ? 'https' : remote.startsWith('file:') ? 'file' : 'http',
  };
}

/**
 * A job as callers see it: no passwords, no write-only headers, progress computed; `withFiles`
 * false: no file list; `yielding`: the yielding controller's state for it (bandwidth-control.ts).
 */
export function toJobInfo(
  job: Job,
  reply: JobInfo['replyProgress'] = null,
  withFiles = true,
  yielding: YieldStatus | null = null,
): JobInfo {
  const { credentials, customHeaders, files, error: _error, everResumed: _everResumed, webhooks, ...rest } = job;
  return {
    ...rest,
    credentials: credentials.map(({ target, scheme, userName }) => ({ target, scheme, userName })),
    // Secrets never leave bitsd.
    webhooks: webhooks.map(({ url }) => ({ url })),
    hasCustomHeaders: customHeaders !== null,
    progress: jobProgress(files),
    replyProgress: job.type === 'UPLOAD_REPLY' ? reply : null,
    error: toErrorInfo(job),
    files: withFiles ? files.map(toFileInfo) : [],
    yielding,
  };
}

/**
 * The store holds the last durable checkpoint; a running transfer knows more. Callers see the
 * larger of the two for files still moving.
 */
export function withLiveProgress(job: Job, live: readonly JobFile[] | undefined): Job {
  if (live === undefined) return job;
  const files = job.files.map((f) => {
    const l = live[f.index];
    if (l === undefined || f.transferred || l.bytesTransferred <= f.bytesTransferred) return f;
    return { ...f, bytesTransferred: l.bytesTransferred, bytesTotal: f.bytesTotal < 0 ? l.bytesTotal : f.bytesTotal };
  });
  return { ...job, files };
}
