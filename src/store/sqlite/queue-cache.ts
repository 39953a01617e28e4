import { isFinalState, type Job } from '../../core/index.ts';

/**
 * The queue (every job not CANCELLED or ACKNOWLEDGED, in queue order) as the last list read it,
 * so that listing 10,000 jobs parses only the jobs written since: every write verb names the job
 * it wrote (`forget`), a write without one (a purge) or a commit by another connection (a second
 * daemon during a takeover; seen in `PRAGMA data_version`) drops everything (`clear`). Job
 * records are immutable values, so the cached ones can be handed out as they are.
 */
export class QueueCache {
  /** In queue order (seq): a new job is the newest, so it goes last. */
  #jobs: Map<string, Job> | null = null;
  readonly #dirty = new Set<string>();
  #dataVersion: unknown;

  forget(jobId: string): void {
    if (this.#jobs !== null) this.#dirty.add(jobId);
  }

  /** This connection committed `jobId` into a final state: it left the queue, nothing to read. */
  left(jobId: string): void {
    this.#jobs?.delete(jobId);
    this.#dirty.delete(jobId);
  }

  clear(): void {
    this.#jobs = null;
    this.#dirty.clear();
  }

  /**
   * The queue, inside a read transaction: `dataVersion` is that connection's PRAGMA
   * data_version now, `loadAll` reads the whole queue, `load` one job (undefined once deleted).
   */
  list(dataVersion: unknown, loadAll: () => Job[], load: (id: string) => Job | undefined): Job[] {
    if (dataVersion !== this.#dataVersion) {
      this.clear();
      this.#dataVersion = dataVersion;
    }
    if (this.#jobs === null) {
      this.#jobs = new Map(loadAll().map((j) => [j.id, j]));
      return [...this.#jobs.values()];
    }
    for (const id of this.#dirty) {
      const job = load(id);
      if (job === undefined || isFinalState(job.state)) this.#jobs.delete(id);
      else this.#jobs.set(id, job);
    }
    this.#dirty.clear();
    return [...this.#jobs.values()];
  }
}
