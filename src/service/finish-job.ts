import type { ResultCode } from '../api/bits-manager.ts';
import { BitsError, type BitsErrorData, type Job, type JobFile } from '../core/index.ts';
import type { FileChange, JobStore } from '../store/job-store.ts';
import { derivedTempName } from '../transfer/temp-file.ts';
import { MAX_UNRECORDED } from './file-sync-rounds.ts';
import type { OwnerIo } from './owner-io.ts';

/**
 * Complete for a download job (bits-client.md §8): every fully transferred file is fsynced and
 * renamed to its local name, each folder fsynced once (commitFiles); partial files are deleted;
 * then one commit records them all. If a file cannot be published, the others still are (and
 * are recorded) and this throws — the caller leaves the job in its state so Complete or Cancel
 * can be tried again (a file renamed by a Complete cut short is recognised by its inode).
 */
export async function publishFiles(job: Job, store: JobStore, io: OwnerIo, now: () => number): Promise<ResultCode> {
  let partial = false;
  let undeleted = false;
  const changes: FileChange[] = [];
  const publish: JobFile[] = [];
  for (const file of job.files) {
    if (file.completed) continue;
    if (!file.transferred) {
      partial = true;
      if (file.temporaryName !== null && !(await io.deleteTempFile(job.owner, file.temporaryName))) undeleted = true;
      changes.push({ index: file.index, patch: { temporaryName: null } });
      continue;
    }
    if (file.temporaryName === null) {
      throw new BitsError('E_FAIL', `file ${file.index} has no temporary file to publish`, { context: 'LOCAL_FILE' });
    }
    publish.push(file);
  }
  if (!(await removeLeftovers(job, io))) undeleted = true;
  const outcomes = await io.commitFiles(
    job.owner,
    publish.map((file) => ({
      temporaryName: file.temporaryName as string,
      localName: file.localName,
      lastModified: file.validators?.lastModified ?? null,
      mode: job.fileMode,
      fileId: file.temporaryFileId,
      readyMode: file.readyMode,
    })),
  );
  let failed: { file: JobFile; err: BitsErrorData } | null = null;
  for (const [i, file] of publish.entries()) {
    const err = outcomes[i];
    if (err == null) changes.push({ index: file.index, patch: { completed: true, temporaryName: null } });
    else failed ??= { file, err };
  }
  if (changes.length > 0) store.updateFiles(job.id, changes, now());
  if (failed !== null) {
    const { file, err } = failed;
    throw new BitsError(
      err.name,
      `Complete could not publish ${file.localName}: ${err.message}; the job stays in its state`,
      {
        context: 'LOCAL_FILE',
        cause: BitsError.from(err),
      },
    );
  }
  if (undeleted) return 'BG_S_UNABLE_TO_DELETE_FILES';
  return partial ? 'BG_S_PARTIAL_COMPLETE' : 'S_OK';
}

/** Cancel: delete every temp file, complete ones too, and the leftovers no record names. */
export async function discardFiles(job: Job, io: OwnerIo): Promise<ResultCode> {
  let undeleted = false;
  for (const file of job.files) {
    if (file.completed || file.temporaryName === null) continue;
    if (!(await io.deleteTempFile(job.owner, file.temporaryName))) undeleted = true;
  }
  if (!(await removeLeftovers(job, io))) undeleted = true;
  return undeleted ? 'BG_S_UNABLE_TO_DELETE_FILES' : 'S_OK';
}

/**
 * A run records a file's temp name with the file's first record (checkpoint or TRANSFERRED), so a
 * process killed before it leaves temp files no record names — at their derived names, and only
 * for the files that run was at: the two downloading and the finished ones whose last sync was
 * pending. Files run in order, so those are among the first MAX_UNRECORDED files not
 * transferred; their derived names are swept (a later run would replace them). A file
 * whose record names another temp file (one the run found replaced and started afresh) counts too.
 */
async function removeLeftovers(job: Job, io: OwnerIo): Promise<boolean> {
  if (job.type !== 'DOWNLOAD') return true;
  const paths: string[] = [];
  let window = MAX_UNRECORDED;
  for (const file of job.files) {
    if (file.transferred || file.completed) continue;
    if (window-- === 0) break;
    // A recorded derived name was deleted with the recorded temp files; any other record (none,
    // or an older temp file the run replaced) can leave one at the derived name.
    const derived = derivedTempName(file.localName, { jobId: job.id, fileIndex: file.index });
    if (file.temporaryName !== derived) paths.push(derived);
  }
  return paths.length === 0 || (await io.removeLeftovers(job.owner, paths));
}
