import { type JobFile, type JobProgress, SIZE_UNKNOWN } from '../core/index.ts';

/** What a run reports of one file's live counts. */
export type LiveFilePatch = Partial<Pick<JobFile, 'bytesTransferred' | 'bytesTotal' | 'transferred'>>;

/**
 * A running job's files with their live byte counts, and the job's totals kept as the files
 * change: a report costs O(1), where totalling the files anew (jobProgress) cost O(files) for
 * every progress event of a job of 1,000 small files.
 */
export class LiveFiles {
  readonly #files: JobFile[];
  #bytesKnown = 0;
  #unknownSizes = 0;
  #bytesTransferred = 0;
  #filesTransferred = 0;

  constructor(files: readonly JobFile[]) {
    this.#files = [...files];
    for (const f of this.#files) this.#count(f, 1);
  }

  get files(): readonly JobFile[] {
    return this.#files;
  }

  /** As jobProgress(files) would total them. */
  get progress(): JobProgress {
    return {
      bytesTotal: this.#unknownSizes > 0 ? SIZE_UNKNOWN : this.#bytesKnown,
      bytesTransferred: this.#bytesTransferred,
      filesTotal: this.#files.length,
      filesTransferred: this.#filesTransferred,
    };
  }

  set(fileIndex: number, patch: LiveFilePatch): void {
    const before = this.#files[fileIndex];
    if (before === undefined) return;
    const after = { ...before, ...patch };
    this.#count(before, -1);
    this.#count(after, 1);
    this.#files[fileIndex] = after;
  }

  #count(f: JobFile, sign: 1 | -1): void {
    if (f.bytesTotal === SIZE_UNKNOWN) this.#unknownSizes += sign;
    else this.#bytesKnown += sign * f.bytesTotal;
    this.#bytesTransferred += sign * f.bytesTransferred;
    if (f.transferred) this.#filesTransferred += sign;
  }
}
