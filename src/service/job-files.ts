import { isAbsolute } from 'node:path';
import type { NewFileSpec, ResultCode } from '../api/bits-manager.ts';
import { type FileRange, isActiveState, isUploadType, type Job } from '../core/index.ts';
import type { FilePatch } from '../store/job-store.ts';
import type { ManagerParts } from './manager-parts.ts';

/** The files of an AddFileSet call (ranges: AddFileWithRanges). */
export type FilesToAdd = ReadonlyArray<NewFileSpec & { ranges?: readonly FileRange[] }>;

/** Only an absolute name points at something on disk to check; the store's rules refuse any other. */
function checkable(localName: unknown): localName is string {
  return typeof localName === 'string' && isAbsolute(localName) && !localName.includes('\0');
}

/**
 * Adding files and changing remote names: the calls that change a job's files from outside its
 * run. Each holds the job's lock; the I/O checks are made here, values and quotas by the store.
 */
export class JobFiles {
  readonly #p: ManagerParts;

  constructor(parts: ManagerParts) {
    this.#p = parts;
  }

  /**
   * AddFileSet: legality first (nothing is looked at on disk for a call that cannot succeed), then
   * the I/O checks of each local name, then the store's verb — values and quotas, all or nothing.
   */
  async add(jobId: string, files: FilesToAdd, method: 'addFile' | 'addFileWithRanges'): Promise<void> {
    const { access, locks, store, transitions, clock, io } = this.#p;
    await locks.run(access.id(jobId), async () => {
      const job = access.job(jobId);
      access.check(method, job);
      // As the job's owner: a name another user (or root) could reach proves nothing.
      const names = (Array.isArray(files) ? files : []).map((f) => f?.localName).filter(checkable);
      if (isUploadType(job.type)) for (const name of names) await io.checkUploadSource(job.owner, name);
      else if (names.length > 0) await io.checkLocalDestinations(job.owner, names);
      await transitions.changed(store.addFiles(job.id, files, { ...access.quotaCaller, now: clock.wallMs() }));
    });
  }

  /**
   * New remote names or mirrors (SetRemoteName, ReplaceRemotePrefix — S_FALSE when nothing
   * matched — and SetFileMirrors). A running transfer stops first — its run is the job's only
   * writer while it runs — then the store judges and keeps each URL, and a stopped job is queued
   * again to use them; also when a URL was refused, so the transfer goes on from its last checkpoint.
   */
  async changeFiles(
    jobId: string,
    method: 'setRemoteName' | 'replaceRemotePrefix' | 'setFileMirrors' | 'setFileDigests',
    changes: (job: Job) => Array<[number, FilePatch]>,
  ): Promise<ResultCode> {
    const { access, locks, store, transitions, runs, clock } = this.#p;
    return locks.run(access.id(jobId), async () => {
      const job = access.job(jobId);
      access.check(method, job);
      const list = changes(job);
      if (list.length === 0) return 'S_FALSE';
      await runs.stop(job.id);
      try {
        for (const [index, patch] of list) store.updateFile(job.id, index, patch, clock.wallMs());
      } finally {
        const stopped = store.getJob(job.id) as Job;
        await transitions.changed(
          isActiveState(stopped.state) ? await transitions.step(stopped, 'slice_end') : stopped,
        );
      }
      return 'S_OK';
    });
  }
}
