import { isFinalState, type Job } from '../../core/index.ts';

/**
 * The records of the jobs in the queue as this connection last read or wrote them, so that a
 * verb or a read of a queued job does not select and parse its rows again. A write verb puts
 * back the record as a read would return it (built from the very parameters it stored, through
 * the same row conversions), or forgets the job when it wrote only part of it; a job that left
 * the queue is dropped (finished jobs are read rarely). A commit by another connection (a second
 * daemon during a takeover; seen in `PRAGMA data_version`) drops everything.
 */
export class RecordCache {
  readonly #jobs = new Map<string, Job>();
  #dataVersion: unknown;

  /** The cached record of `id`, if the database is still as this connection left it. */
  get(dataVersion: unknown, id: string): Job | undefined {
    if (dataVersion !== this.#dataVersion) {
      this.#jobs.clear();
      this.#dataVersion = dataVersion;
      return undefined;
    }
    return this.#jobs.get(id);
  }

  /**
   * The cached record of `id` without asking whether another connection wrote: for a store that
   * is the database's only writer (`soleWriter`), whose reads need no `PRAGMA data_version`.
   */
  peek(id: string): Job | undefined {
    return this.#jobs.get(id);
  }

  /**
   * `job` is what the database holds for its id now (a committed write, or a read). It is frozen
   * (deeply): verbs build the next record from it, so nothing may change it in place.
   */
  put(job: Job): void {
    if (isFinalState(job.state)) this.#jobs.delete(job.id);
    else this.#jobs.set(job.id, deepFreeze(job));
  }

  forget(id: string): void {
    this.#jobs.delete(id);
  }

  clear(): void {
    this.#jobs.clear();
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  // An array by index: for…in would make a string key per element (a run's rounds put a
  // 1,000-file record back every few files, most of its files already frozen).
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  // for…in, not Object.values: no array per object (a record is a dozen of them, every write).
  else for (const key in value) deepFreeze(value[key]);
  return Object.freeze(value);
}
