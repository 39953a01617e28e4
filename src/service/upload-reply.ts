import type { ResultCode } from '../api/bits-manager.ts';
import { BitsError, type Clock, type Job } from '../core/index.ts';
import type { JobStore } from '../store/job-store.ts';
import {
  INITIAL_UPLOAD_SESSION_STATE,
  type ReplyProgress,
  type UploadOptions,
  type UploadSessionState,
} from '../transfer/upload/upload-request.ts';
import type { OwnerIo } from './owner-io.ts';
import { UploadCancelQueue } from './upload-cancel-queue.ts';

/** The stored upload session of a job, or a fresh one. */
export function uploadStateOf(stored: unknown): UploadSessionState {
  if (stored === undefined || stored === null || typeof stored !== 'object') return INITIAL_UPLOAD_SESSION_STATE;
  return { ...INITIAL_UPLOAD_SESSION_STATE, ...(stored as Partial<UploadSessionState>) };
}

/** GetReplyProgress from a session (BytesTotal -1 until the reply download began). */
export function replyProgressOf(state: UploadSessionState): ReplyProgress {
  return { bytesTotal: state.replyBytesTotal, bytesTransferred: state.replyBytesTransferred };
}

/**
 * What upload and upload-reply jobs need beyond the transfer: the stored session (the upload
 * engine's state, kept by the store as JSON), the reply (GetReplyProgress, GetReplyData, its
 * rename at Complete) and Cancel-Session sent in the background after Cancel.
 */
export class UploadReplies {
  readonly #store: JobStore;
  readonly #io: OwnerIo;
  readonly #cancels: UploadCancelQueue;

  constructor(store: JobStore, clock: Clock, io: OwnerIo) {
    this.#store = store;
    this.#io = io;
    this.#cancels = new UploadCancelQueue(clock, io);
  }

  /** The job's upload session as last saved. */
  sessionOf(jobId: string): UploadSessionState {
    return uploadStateOf(this.#store.getTransferState(jobId));
  }

  /** The reply's progress of an UPLOAD_REPLY job (null for other types): JobInfo and GetReplyProgress. */
  replyProgress(job: Job): ReplyProgress | null {
    return job.type === 'UPLOAD_REPLY' ? replyProgressOf(this.sessionOf(job.id)) : null;
  }

  /** GetReplyData: null when the server sent no reply; BG_E_TOO_LARGE past 1 MiB. */
  async replyData(job: Job): Promise<Buffer | null> {
    const session = this.sessionOf(job.id);
    const path = session.replyTemporaryName ?? session.replyFileName;
    if (session.replyUrl === null || path === null) return null;
    const reply = await this.#io.readReply(job.owner, path);
    if (reply.data === null) {
      throw new BitsError('BG_E_TOO_LARGE', `the reply is ${reply.size} bytes; GetReplyData returns at most 1 MiB`);
    }
    return reply.data;
  }

  /** Complete of an upload-reply job: the reply file is renamed into place (no network needed). */
  async publish(job: Job): Promise<ResultCode> {
    if (job.type !== 'UPLOAD_REPLY') return 'S_OK';
    const session = this.sessionOf(job.id);
    if (session.replyTemporaryName === null || session.replyFileName === null) return 'S_OK';
    await this.#io.commitFile(job.owner, session.replyTemporaryName, session.replyFileName, { mode: job.fileMode });
    this.#store.saveTransferState(job.id, { ...session, replyTemporaryName: null });
    return 'S_OK';
  }

  /** Cancel, before the transition: the local part (a partial reply) is deleted. */
  async discard(job: Job): Promise<{ result: ResultCode; session: UploadSessionState }> {
    const session = this.sessionOf(job.id);
    const deleted = await this.#io.discardUploadLocalState(job.owner, session);
    return { result: deleted ? 'S_OK' : 'BG_S_UNABLE_TO_DELETE_FILES', session };
  }

  /**
   * Cancel, after the transition: the server is told (Cancel-Session) in the background, retried
   * while it cannot be reached, for at most 24 h or the job's NoProgressTimeout.
   */
  tellServer(job: Job, session: UploadSessionState, options: UploadOptions): void {
    const file = job.files[0];
    if (file === undefined || file.transferred) return;
    this.#cancels.add(job.id, job.owner, file.remoteName, session, options, job.noProgressTimeout * 1000);
  }

  stop(): void {
    this.#cancels.stop();
  }
}
