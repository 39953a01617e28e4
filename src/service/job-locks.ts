/**
 * One queue per job: a call that changes a job runs only after the previous one for the same job
 * has settled, so a read-check-write inside it sees the job as the previous call left it.
 */
export class JobLocks {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Run `fn` after every earlier call for `jobId` settled (a failed one does not block the queue). */
  async run<T>(jobId: string, fn: () => Promise<T> | T): Promise<T> {
    const prev = this.#tails.get(jobId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#tails.set(jobId, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(jobId) === tail) this.#tails.delete(jobId);
    }
  }
}
