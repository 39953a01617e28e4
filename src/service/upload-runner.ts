import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { BitsError } from '../core/index.ts';
import {
  type ReplyProgress,
  type UploadOptions,
  type UploadSessionState,
  uploadFile,
} from '../transfer/upload/index.ts';
import { type RunContext, type RunOutcome, type RunReports, runFailure } from './download-runner.ts';

/** What an upload run reports beyond a download's. */
export interface UploadReports extends RunReports {
  /** Persist the session before anything relies on it (id, acknowledged offset, Host-Id, reply). */
  session(state: UploadSessionState): void;
  /** Reply download progress (GetReplyProgress). */
  replyProgress(progress: ReplyProgress): void;
}

export interface UploadRunContext extends Omit<RunContext, 'options' | 'report'> {
  readonly options: UploadOptions;
  /** The session as stored when the run began. */
  readonly session: UploadSessionState;
  readonly report: UploadReports;
}

/**
 * Run an upload or upload-reply job's one file through the BITS upload protocol. The session
 * (id, acknowledged offset, Host-Id, reply progress) is reported as the engine changes it, so a
 * restart resumes with a Ping and the next fragment.
 */
export async function runUploadJob(ctx: UploadRunContext): Promise<RunOutcome> {
  const { job, report } = ctx;
  const file = job.files[0];
  if (file === undefined || job.type === 'DOWNLOAD') return { kind: 'aborted' };
  let acked = file.bytesTransferred;
  let total = file.bytesTotal;
  try {
    await uploadFile({
      jobId: job.id,
      type: job.type,
      remoteName: file.remoteName,
      localName: file.localName,
      replyFileName: job.replyFileName,
      state: ctx.session,
      options: ctx.options,
      signal: ctx.signal,
      clock: ctx.clock,
      limiter: ctx.limiter,
      hooks: {
        onConnected: () => report.connected(),
        onSessionChanged: (state) => report.session(state),
        onProgress: (bytesAcked, bytesTotal) => {
          const advanced = bytesAcked > acked;
          if (bytesTotal !== total || bytesAcked < acked) {
            report.file(0, { bytesTotal, bytesTransferred: bytesAcked });
          } else if (advanced) {
            report.checkpoint(0, bytesAcked);
          }
          acked = bytesAcked;
          total = bytesTotal;
          report.progress(0, bytesAcked, bytesTotal, advanced);
        },
        onReplyProgress: (progress) => report.replyProgress(progress),
      },
    });
  } catch (err) {
    return runFailure(err, ctx.signal, 0);
  }
  const size = total >= 0 ? total : acked;
  report.file(0, { bytesTotal: size, bytesTransferred: size, transferred: true });
  return { kind: 'done' };
}

/** AddFile on an upload job, the I/O part: the local file must exist, be a regular file and be readable. */
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
