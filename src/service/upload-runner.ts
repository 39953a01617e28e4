import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { BitsError, parseCustomHeaders } from '../core/index.ts';
import type { RateLimiter } from '../transfer/contract.ts';
import {
  INITIAL_UPLOAD_SESSION_STATE,
  type ReplyProgress,
  type UploadOptions,
  type UploadSessionState,
  uploadFile,
} from '../transfer/upload/index.ts';
import { type RunContext, type RunOutcome, runFailure } from './download-runner.ts';

/** The stored upload session of a job, or a fresh one. */
export function uploadStateOf(stored: unknown): UploadSessionState {
  if (stored === undefined || stored === null || typeof stored !== 'object') return INITIAL_UPLOAD_SESSION_STATE;
  return { ...INITIAL_UPLOAD_SESSION_STATE, ...(stored as Partial<UploadSessionState>) };
}

/** GetReplyProgress from the stored session (BytesTotal -1 until the reply download began). */
export function replyProgressOf(state: UploadSessionState): ReplyProgress {
  return { bytesTotal: state.replyBytesTotal, bytesTransferred: state.replyBytesTransferred };
}

export interface UploadRunContext extends Omit<RunContext, 'checkpointBytes' | 'checkpointMs' | 'limiter'> {
  readonly limiter: RateLimiter | null;
  readonly checkpointBytes: number;
  readonly checkpointMs: number;
  onReplyProgress(progress: ReplyProgress): void;
}

/**
 * Run an upload or upload-reply job's one file through the BITS upload protocol. The session
 * (id, acknowledged offset, Host-Id, reply progress) is persisted as the engine reports it, so a
 * restart resumes with a Ping and the next fragment.
 */
export async function runUploadJob(jobId: string, ctx: UploadRunContext): Promise<RunOutcome> {
  const { store, clock } = ctx;
  const job = store.getJob(jobId);
  const file = job?.files[0];
  if (job === undefined || file === undefined || job.type === 'DOWNLOAD') return { kind: 'aborted' };
  const options: UploadOptions = {
    customHeaders: parseCustomHeaders(job.customHeaders),
    credentials: job.credentials,
    proxy: job.proxy,
    securityFlags: job.securityFlags,
    checkpointBytes: ctx.checkpointBytes,
    checkpointMs: ctx.checkpointMs,
  };
  let acked = file.bytesTransferred;
  try {
    await uploadFile({
      jobId,
      type: job.type,
      remoteName: file.remoteName,
      localName: file.localName,
      replyFileName: job.replyFileName,
      state: uploadStateOf(store.getTransferState(jobId)),
      options,
      signal: ctx.signal,
      clock,
      limiter: ctx.limiter,
      hooks: {
        onConnected: () => ctx.onConnected(),
        onSessionChanged: (state) => store.saveTransferState(jobId, state),
        onProgress: (bytesAcked, bytesTotal) => {
          const advanced = bytesAcked > acked;
          const first = file.bytesTotal !== bytesTotal;
          if (first || bytesAcked < acked) {
            store.updateFile(jobId, 0, { bytesTotal, bytesTransferred: bytesAcked }, clock.wallMs());
          } else if (advanced) {
            store.saveCheckpoint(jobId, 0, bytesAcked, clock.wallMs());
          }
          acked = bytesAcked;
          ctx.onProgress([{ ...file, bytesTotal, bytesTransferred: bytesAcked }], advanced);
        },
        onReplyProgress: (progress) => ctx.onReplyProgress(progress),
      },
    });
  } catch (err) {
    return runFailure(err, ctx.signal, 0);
  }
  const total = store.getJob(jobId)?.files[0]?.bytesTotal ?? acked;
  store.updateFile(jobId, 0, { bytesTotal: total, bytesTransferred: total, transferred: true }, clock.wallMs());
  ctx.onFileTransferred(0);
  return { kind: 'done' };
}

/** AddFile on an upload job: the local file must exist, be a regular file and be readable. */
export async function checkUploadSource(localName: string): Promise<void> {
  try {
    await access(localName, constants.R_OK);
    if (!(await stat(localName)).isFile()) throw new BitsError('E_INVALIDARG', `${localName} is not a regular file`);
  } catch (err) {
    if (err instanceof BitsError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new BitsError('ERROR_FILE_NOT_FOUND', `the file to upload does not exist: ${localName}`, {
        context: 'LOCAL_FILE',
      });
    }
    throw new BitsError('E_ACCESSDENIED', `the file to upload cannot be read: ${localName}`, { context: 'LOCAL_FILE' });
  }
}
