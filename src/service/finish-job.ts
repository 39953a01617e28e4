import type { ResultCode } from '../api/bits-manager.ts';
import { BitsError, type Job } from '../core/index.ts';
import type { JobStore } from '../store/job-store.ts';
import type { OwnerIo } from './owner-io.ts';

/**
 * Complete for a download job (bits-client.md §8): every fully transferred file is fsynced and
 * renamed to its local name, the folder fsynced; partial files are deleted. If a rename fails,
 * the files renamed so far stay available and this throws — the caller leaves the job in its
 * state so Complete or Cancel can be tried again.
 */
export async function publishFiles(job: Job, store: JobStore, io: OwnerIo, now: () => number): Promise<ResultCode> {
  let partial = false;
  let undeleted = false;
  for (const file of job.files) {
    if (file.completed) continue;
    if (!file.transferred) {
      partial = true;
      if (file.temporaryName !== null && !(await io.deleteTempFile(job.owner, file.temporaryName))) undeleted = true;
      store.updateFile(job.id, file.index, { temporaryName: null }, now());
      continue;
    }
    if (file.temporaryName === null) {
      throw new BitsError('E_FAIL', `file ${file.index} has no temporary file to publish`, { context: 'LOCAL_FILE' });
    }
    try {
      await io.commitFile(job.owner, file.temporaryName, file.localName, {
        lastModified: file.validators?.lastModified ?? null,
        mode: job.fileMode,
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const name = err instanceof BitsError ? err.name : 'E_ACCESSDENIED';
      throw new BitsError(name, `Complete could not publish ${file.localName}: ${reason}; the job stays in its state`, {
        context: 'LOCAL_FILE',
        cause: err,
      });
    }
    store.updateFile(job.id, file.index, { completed: true, temporaryName: null }, now());
  }
  if (undeleted) return 'BG_S_UNABLE_TO_DELETE_FILES';
  return partial ? 'BG_S_PARTIAL_COMPLETE' : 'S_OK';
}

/** Cancel: delete every temp file, complete ones too. */
export async function discardFiles(job: Job, io: OwnerIo): Promise<ResultCode> {
  let undeleted = false;
  for (const file of job.files) {
    if (file.completed || file.temporaryName === null) continue;
    if (!(await io.deleteTempFile(job.owner, file.temporaryName))) undeleted = true;
  }
  return undeleted ? 'BG_S_UNABLE_TO_DELETE_FILES' : 'S_OK';
}
